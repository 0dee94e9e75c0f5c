"""The queue's filter options (categories, areas, departments) are rendered once per language and
jurisdiction and kept in the per-process reference cache (``core.refcache``); an edit in this
process shows at once."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.http import Http404
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


# --------------------------------------------------------------------------- the queue's SQL


def test_an_area_filter_gives_the_same_cases_as_the_read_door(world, directory):
    """Inside the jurisdiction, the area filter alone replaces the door's OR (``queries.queue``):
    the same rows as ``visible_to`` ∩ the subtree, for a dispatcher, a worker and the superuser."""
    from gongzhi.cases import queries

    def case(i, area, **kw):
        return Case.objects.create(number=f"990101-20260101-{i:04d}", title=f"积水 {i}", status=Status.FILED,
                                   area=area, area_path=area.path if area else "", **kw)

    case(1, world.grid_a1)
    case(2, world.grid_a2, reporter=world.outsider)
    case(3, world.grid_b1, reporter=world.dispatcher)  # their own report in street B
    case(4, world.grid_b1, department=world.police_a)
    case(5, None, reporter=world.worker)
    for user in (world.dispatcher, world.worker, world.admin, world.handler):
        for area in world.areas_of_a() + [world.street_b, world.grid_b1, world.city]:
            door = Case.objects.visible_to(user).filter(area_path__startswith=area.path)
            try:
                got = queries.queue(user, queries.QueueFilter(area=area.pk))
            except Http404:  # an area outside the jurisdiction
                assert not jurisdiction_covers(user, area.path)
                continue
            assert set(got.values_list("number", flat=True)) == set(door.values_list("number", flat=True)), (
                user, area)


def jurisdiction_covers(user, path: str) -> bool:
    from gongzhi.core.scoping import jurisdiction

    return jurisdiction(user).covers_path(path)


def test_postgresql_indexes_for_the_queue(world, directory):
    """On PostgreSQL: a text search can use the trigram indexes, ``status`` has one plain index (no
    ``_like`` twin), and the (status, overdue) statistics exist."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL indexes")
    import random

    from gongzhi.cases import queries

    rng = random.Random(3)
    words = ["垃圾堆积", "井盖缺失", "占道经营", "噪声扰民", "路灯损坏", "违规停车"]
    Case.objects.bulk_create([
        Case(number=f"990101-20260101-{i:05d}", title=rng.choice(words), description=rng.choice(words) * 3,
             address=f"东街道幸福路 {i} 号", status=Status.CLOSED, area=world.grid_a1, area_path=world.grid_a1.path)
        for i in range(20_000)], batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases_case'")
        indexes = dict(cursor.fetchall())
        cursor.execute("SELECT stxname FROM pg_statistic_ext")
        statistics = {row[0] for row in cursor.fetchall()}
    assert {"case_title_trgm", "case_description_trgm", "case_address_trgm", "case_status"} <= set(indexes)
    assert [name for name, sql in indexes.items() if "(status varchar_pattern_ops)" in sql] == []
    assert "case_status_overdue_stats" in statistics
    with connection.cursor() as cursor:  # 20,000 rows are read fastest in one go: ask whether an index can do
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    plan = queries.queue(world.admin, queries.QueueFilter(q="幸福路 12345")).explain()
    assert all(f"{column}_trgm" in plan for column in ("case_title", "case_description", "case_address")), plan
    assert queries.queue(world.admin, queries.QueueFilter(q="幸福路 12345")).count() == 1
