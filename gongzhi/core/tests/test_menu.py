"""The main menu: residents see what is theirs; people who work in an area also see the work pages."""

from __future__ import annotations

import pytest


def menu(client) -> str:
    return client.get("/").content.decode().split('id="mainnav"', 1)[1].split("</nav>", 1)[0]


@pytest.mark.django_db
def test_the_menu_shows_the_work_pages_only_to_those_who_work_in_an_area(world, login):
    resident = menu(login(world.resident))
    assert "上报问题" in resident and "双向共评" in resident
    assert "区划与网格" not in resident and "考核评价" not in resident and "场所" not in resident
    worker = menu(login(world.worker))
    assert "区划与网格" in worker and "场所" in worker and "平安等级" in worker


def main(client) -> str:
    return client.get("/").content.decode().split("<main", 1)[1].split("</main>", 1)[0]


@pytest.mark.django_db
def test_a_resident_lands_on_what_residents_come_for(world, login):
    page = main(login(world.resident))
    assert 'href="/report/"' in page and 'href="/cases/mine/"' in page and 'href="/portal/"' in page
    assert "我的辖区" not in page
    assert 'href="/portal/residency/"' in page  # no verified home yet: the way to get one
    worker = main(login(world.worker))
    assert "我的辖区" in worker and "我的职责" in worker and "登记住址" not in worker
