"""The queue's filter options (categories, areas, departments) are rendered once per language and
jurisdiction and kept in the per-process reference cache (``core.refcache``); an edit in this
process shows at once."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.areas import services as area_services
from gongzhi.areas.models import AreaLevel
from gongzhi.cases import directory as directory_service
from gongzhi.cases.choices import Status
from gongzhi.cases.models import Case, Category, DirectoryVersion
from gongzhi.core import refcache
from gongzhi.orgs import services as org_services

pytestmark = pytest.mark.django_db


def select(html: str, name: str) -> str:
    found = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert found, name
    return found.group(1)


def options(html: str, name: str) -> dict[str, str]:
    return dict(re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', select(html, name)))


def selected(html: str, name: str) -> list[str]:
    return re.findall(r'<option value="(\d*)" selected>', select(html, name))


def bulk_options(html: str) -> dict[str, str]:
    form = re.search(r'<form method="post" action="/cases/bulk-dispatch/".*?</form>', html, re.S)
    assert form
    assert " selected" not in form.group(0)  # the bulk form's list is never preselected
    return dict(re.findall(r'<option value="(\d+)">([^<]*)</option>', form.group(0)))


@pytest.fixture
def one_case(world, directory) -> Case:
    """A filed case in grid A1, so that the queue shows the bulk dispatch form."""
    return Case.objects.create(number="990101-20260101-0001", title="积水", status=Status.FILED, area=world.grid_a1,
                               area_path=world.grid_a1.path, category=directory["street"],
                               department=world.police_a)


def table_queries(captured, table: str) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if f'FROM "{table}"' in q["sql"]]


def test_the_options_are_read_once_and_the_selection_is_per_request(world, directory, one_case, login):
    client = login(world.dispatcher)
    html = client.get("/cases/").content.decode()
    assert options(html, "category") == {str(directory["garbage"].pk): "06010 暴露垃圾",
                                         str(directory["street"].pk): "09005 店外经营"}
    assert options(html, "area") == {str(world.street_a.pk): "东街道 · 街道/镇", str(world.community_a.pk): "东一社区 · 社区/村"}
    assert options(html, "department") == {str(world.police_a.pk): "东派出所"}  # not street B's police
    assert bulk_options(html) == {str(world.police_a.pk): "东派出所"}
    assert selected(html, "category") == selected(html, "department") == []

    with CaptureQueriesContext(connection) as captured:
        html = client.get(f"/cases/?category={directory['street'].pk}&department={world.police_a.pk}"
                          f"&area={world.community_a.pk}").content.decode()
    for table in ("cases_category", "orgs_department", "areas_arealevel"):
        assert not table_queries(captured, table), table  # served from memory
    assert selected(html, "category") == [str(directory["street"].pk)]
    assert selected(html, "department") == [str(world.police_a.pk)]
    assert selected(html, "area") == [str(world.community_a.pk)]
    assert bulk_options(html) == {str(world.police_a.pk): "东派出所"}
    assert selected(client.get("/cases/").content.decode(), "category") == []  # nothing left over


def test_a_new_category_department_or_area_shows_at_once(world, directory, one_case, login):
    client = login(world.dispatcher)
    html = client.get("/cases/").content.decode()
    assert "L-TEST" not in html and "东城管中队" not in html and "东二社区" not in html

    category = directory_service.add_local_category(directory["version"], code="L-TEST", name="<b>测试</b>分类")
    department = org_services.create_department(actor=None, name="东城管中队", code="enf-a", kind="enforcement",
                                                areas=[world.street_a], home_area=world.street_a)
    area = area_services.create_area(actor=None, level=AreaLevel.objects.get(slug="community"),
                                     parent=world.street_a, name="东二社区", code="990101001002")

    html = client.get("/cases/").content.decode()
    assert bulk_options(html)[str(department.pk)] == "东城管中队"
    html = client.get(f"/cases/?department={department.pk}").content.decode()
    assert options(html, "category")[str(category.pk)] == "L-TEST &lt;b&gt;测试&lt;/b&gt;分类"  # escaped
    assert options(html, "department")[str(department.pk)] == "东城管中队"
    assert selected(html, "department") == [str(department.pk)]
    assert options(html, "area")[str(area.pk)] == "东二社区 · 社区/村"

    category.is_active = False
    category.save()
    department.is_active = False
    department.save()
    html = client.get("/cases/").content.decode()
    assert str(category.pk) not in options(html, "category")
    assert str(department.pk) not in options(html, "department")


def test_activating_another_directory_version_swaps_the_categories(world, directory, login):
    client = login(world.admin)
    assert "06010 暴露垃圾" in client.get("/cases/").content.decode()
    version = DirectoryVersion.objects.create(name="新目录")
    Category.objects.bulk_create([Category(version=version, code="06010", name="暴露垃圾（新）",
                                           kind=Category.Kind.MATTER)])  # no signal: the activation clears
    directory_service.activate_version(version, actor=world.admin)
    html = client.get("/cases/").content.decode()
    assert list(options(html, "category").values()) == ["06010 暴露垃圾（新）"]


def test_each_jurisdiction_and_language_has_its_own_options(world, directory, login, client):
    police_b = "西派出所"
    assert police_b not in options(login(world.dispatcher).get("/cases/").content.decode(), "department")
    admin_html = login(world.admin).get("/cases/").content.decode()
    assert police_b in options(admin_html, "department").values()
    assert "西街道 · 街道/镇" in options(admin_html, "area").values()
    world.police_a.name_en = "East Police Station"
    world.police_a.save()
    client.cookies["django_language"] = "en"
    english = client.get("/cases/").content.decode()
    assert "East Police Station" in options(english, "department").values()
    assert "东街道 · Street / town" in options(english, "area").values()
    client.cookies["django_language"] = "zh-hans"
    assert "东派出所" in options(client.get("/cases/").content.decode(), "department").values()


def test_the_reference_cache_stays_bounded(settings):
    settings.REFERENCE_CACHE_MAX_ENTRIES = 10
    for i in range(25):
        assert refcache.get(("bounded", i), lambda i=i: i) == i
    assert len(refcache._values) <= 10
    assert refcache.get(("bounded", 24), lambda: "reloaded") == 24  # the newest are kept
    assert refcache.get(("bounded", 0), lambda: "reloaded") == "reloaded"  # the oldest went first
