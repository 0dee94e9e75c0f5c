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
