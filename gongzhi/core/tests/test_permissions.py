"""The permission matrix: every URL × every fixed actor gets what gongzhi/core/permissions.txt says.

See gongzhi/core/permmatrix.py. Three checks:

- every (method, URL pattern) the resolver knows has a line in the table (a new URL fails here,
  with the line to add), and every line names a URL that exists;
- docs/permissions.md is the table rendered (``python -m gongzhi.core.permmatrix --write``);
- every line, requested as each actor, answers the expected outcome. Each request runs inside a
  savepoint that is rolled back, so an allowed POST does not change what the next actor sees.
"""

from __future__ import annotations

import copy
import io
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client

from gongzhi.core import permmatrix

ROUTES = permmatrix.routes()
ROWS = permmatrix.load()


def test_every_url_has_a_line_in_the_table():
    missing = [route for route in ROUTES if not permmatrix.rows_for(route, ROWS)]
    assert not missing, (
        "These URLs have no line in gongzhi/core/permissions.txt. Add one per URL, saying what each actor "
        "must get (run tests/test_permissions.py::test_permission_matrix to see what they get now), then "
        "run `python -m gongzhi.core.permmatrix --write`:\n"
        + "\n".join(permmatrix.suggestion(route) for route in missing))


def test_every_line_names_a_url_that_exists():
    paths = {route.path for route in ROUTES}  # a page's form (POST) has the GET's route
    stale = [row for row in ROWS if not any(row.matches(route) for route in ROUTES)
             and (row.is_glob or row.path not in paths)]
    assert not stale, "Lines of gongzhi/core/permissions.txt that match no URL any more: " + ", ".join(
        f"line {row.line}: {row.method} {row.path}" for row in stale)


def test_every_parameter_is_given():
    for row in ROWS:
        if row.is_glob:
            continue
        params = [p for p in permmatrix.Route(row.method, row.path, "").params if p not in row.objects]
        assert not params, f"permissions.txt line {row.line}: say which object {params} is (name=object)"


def test_docs_are_up_to_date():
    current = permmatrix.DOC.read_text(encoding="utf-8") if permmatrix.DOC.exists() else ""
    assert current == permmatrix.render(ROWS), (
        "docs/permissions.md is out of date: run `python -m gongzhi.core.permmatrix --write`")


# --------------------------------------------------------------------------- the objects


def _jpeg() -> SimpleUploadedFile:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 10)).save(buf, "JPEG")
    return SimpleUploadedFile("photo.jpg", buf.getvalue(), content_type="image/jpeg")


def build_objects(world) -> dict[str, str]:
    """The objects permmatrix.OBJECTS describes, as the strings that go into URLs."""
    from gongzhi.cases import intake, photos, services
    from gongzhi.cases.choices import LimitUnit
    from gongzhi.cases.models import CasePhoto, Category
    from gongzhi.notifications.models import Notification
    from gongzhi.orgs import services as org_services

    admin, handler = world.admin, world.handler

    def report(title: str):
        case, _ = intake.report_case(intake.Report(title=title, lon=100.05, lat=30.05), reporter=world.resident)
        return case

    category = Category.objects.filter(version__is_active=True, is_active=True).order_by("code").first()

    def filed(title):
        return services.file_case(report(title), actor=admin, category=category)

    def dispatched(title):
        return services.dispatch_case(filed(title), actor=admin, department=world.police_a)

    def in_progress(title):
        return services.accept_case(dispatched(title), actor=handler)

    def handled(title):
        return services.handle_case(in_progress(title), actor=handler, note="已清理")

    reported = report("路灯不亮")
    extension = in_progress("占道经营")
    services.request_extension(extension, actor=handler, amount=Decimal(2), unit=LimitUnit.WORKING_DAYS,
                               reason="需要协调")
    closed = services.verify_case(handled("垃圾堆积"), actor=admin, passed=True)
    photo = photos.save_photo(reported, _jpeg(), stage=CasePhoto.Stage.REPORT, actor=world.resident)
    notification = Notification.objects.create(user=world.dispatcher, kind="test", title="新案件")
    token, _raw = org_services.create_api_token(actor=world.dispatcher, user=world.dispatcher, name="脚本")
    from gongzhi.inspections.models import Reinspection
    from gongzhi.inspections.tests.fuzz_objects import visit_in_street_a

    visit = visit_in_street_a(world)
    notice = visit.notices.get(department=world.police_a)
    from gongzhi.deliberation import projects as deliberation_projects
    from gongzhi.deliberation.models import Unit, VoterRoll

    roll = VoterRoll.objects.create(area=world.community_a, name="东一花园业主名册")
    Unit.objects.create(roll=roll, code="1-101", building="1栋", floor_area=Decimal("80"))
    project = deliberation_projects.create_project(
        actor=world.dispatcher, area=world.community_a, title="屋面防水", total_cost="100.00", policy_funds="0",
        committee_funds="0", owners_share="100.00", split="area")
    deliberation_projects.compute_statements(project, actor=world.dispatcher, roll=roll)
    update = deliberation_projects.add_update(project, actor=world.dispatcher, note="进场", progress=0,
                                              photos=[_jpeg()])  # underway: recomputing is a 409
    return {
        "case_reported": reported.number,
        "case_filed": filed("井盖缺失").number,
        "case_dispatched": dispatched("噪音扰民").number,
        "case_in_progress": in_progress("树木倒伏").number,
        "case_extension": extension.number,
        "case_handled": handled("违章停车").number,
        "case_closed": closed.number,
        "photo": str(photo.pk),
        "street_a": str(world.street_a.pk),
        "grid_a1": str(world.grid_a1.pk),
        "community_a": str(world.community_a.pk),
        "police_a": str(world.police_a.pk),
        "notification": str(notification.pk),
        "token": str(token.pk),
        "device": "camera",
        "category": category.code,
        "category_id": str(category.pk),
        "visit": str(visit.pk),
        "notice": str(notice.pk),
        "hazard": str(notice.hazards.order_by("pk").first().pk),
        "reinspection": str(Reinspection.objects.get(notice=notice, round=1).pk),
        "project": str(project.pk),
        "project_photo": str(update.photos.get().pk),
    }


def admin_params(route: permmatrix.Route) -> dict[str, str]:
    """Values for the admin's own URL parameters: a real object of the model the URL is about."""
    from django.apps import apps

    values = {"app_label": "cases", "url": "no-such-page/"}
    parts = route.path.strip("/").split("/")
    if "object_id" in route.params and len(parts) > 2:
        try:
            model = apps.get_model(parts[1], parts[2])
        except LookupError:
            model = None
        obj = model._default_manager.order_by("pk").first() if model else None
        values["object_id"] = str(obj.pk) if obj else "0"
    if "id" in route.params:  # the user admin's password form
        from gongzhi.orgs.models import User

        values["id"] = str(User.objects.order_by("pk").first().pk)
    if "content_type_id" in route.params:  # "view on site": the admin's redirect to the object's page
        from gongzhi.cases.models import Case

        values["content_type_id"] = str(ContentType.objects.get_for_model(Case).pk)
        values["object_id"] = str(Case.objects.order_by("pk").first().pk)
    return values


# What the forms and API calls send: a valid request, so what stops an actor is the permission check.
def bodies(objects: dict[str, str]) -> dict[str, dict]:
    return {
        # pages
        "POST /cases/{number}/check/": {"confirmed": "yes"},
        "POST /cases/{number}/file/": {"category": objects["category_id"]},
        "POST /cases/{number}/not_file/": {"reason": "重复上报"},
        "POST /cases/{number}/dispatch/": {"department": objects["police_a"]},
        "POST /cases/{number}/return/": {"reason": "不属本部门"},
        "POST /cases/{number}/request_extension/": {"amount": "2", "unit": "working_days", "reason": "需要协调"},
        "POST /cases/{number}/decide_extension/": {"decision": "approve"},
        "POST /cases/{number}/handle/": {"note": "已处理"},
        "POST /cases/{number}/verify/": {"result": "passed"},
        "POST /cases/{number}/rate/": {"rating": "satisfied"},
        "POST /cases/{number}/merge/": {"master": objects["case_filed"]},
        "POST /cases/{number}/locate/": {"area": objects["grid_a1"]},
        "POST /cases/{number}/set_urgent/": {"urgent": "1"},
        "POST /cases/bulk-dispatch/": {"cases": [objects["case_filed"]], "department": objects["police_a"]},
        "POST /report/": {"title": "路灯不亮", "lon": "100.05", "lat": "30.05"},
        "POST /i18n/setlang/": {"language": "en", "next": "/"},
        # API (JSON unless multipart below)
        "POST /api/v1/areas": {"name": "新网格", "level": "grid", "parent_id": int(objects["community_a"])},
        "PATCH /api/v1/areas/{area_id}": {"name": "东一网格（改）"},
        "POST /api/v1/cases": {"title": "路灯不亮", "lon": 100.05, "lat": 30.05},
        "POST /api/v1/cases/with-photos": {"title": "路灯不亮", "lon": "100.05", "lat": "30.05"},
        "POST /api/v1/cases/{number}/check": {"confirmed": True},
        "POST /api/v1/cases/{number}/file": {"category_code": objects["category"]},
        "GET /api/v1/areas/lookup": {"lon": "100.05", "lat": "30.05"},
        "POST /api/v1/cases/{number}/not-file": {"reason": "重复上报"},
        "POST /api/v1/cases/{number}/withdraw": {},
        "POST /api/v1/cases/{number}/dispatch": {"department_id": int(objects["police_a"])},
        "POST /api/v1/cases/{number}/accept": {},
        "POST /api/v1/cases/{number}/return": {"reason": "不属本部门"},
        "POST /api/v1/cases/{number}/extension": {"amount": "2", "reason": "需要协调"},
        "POST /api/v1/cases/{number}/extension/decide": {"approve": True},
        "POST /api/v1/cases/{number}/handle": {"note": "已处理"},
        "POST /api/v1/cases/{number}/verify": {"passed": True},
        "POST /api/v1/cases/{number}/rate": {"rating": "satisfied"},
        "POST /api/v1/cases/{number}/merge": {"master_number": objects["case_filed"]},
        "POST /api/v1/cases/{number}/locate": {"area_id": int(objects["grid_a1"])},
        "POST /api/v1/cases/{number}/urgent": {"urgent": True},
        "POST /api/v1/me/tokens": {"name": "脚本"},
    }


MULTIPART = {"POST /api/v1/cases/with-photos", "POST /api/v1/cases/{number}/handle"}


# --------------------------------------------------------------------------- the matrix


def _lines(objects: dict[str, str]):
    """(row, route, url) for every line and every URL a glob line stands for."""
    for route in ROUTES:
        for row in permmatrix.rows_for(route, ROWS):
            values = admin_params(route) if row.is_glob else {}
            values.update({k: objects.get(v, v) for k, v in row.objects.items()})
            url = route.path
            for name, value in values.items():
                url = url.replace("{" + name + "}", value)
            yield row, route, url
    for row in ROWS:  # page forms: POST lines for pages the resolver lists as GET
        if row.method != "GET" and not row.is_glob and not any(r.method == row.method and r.path == row.path
                                                                for r in ROUTES):
            url = row.path
            for name, value in row.objects.items():
                url = url.replace("{" + name + "}", objects.get(value, value))
            yield row, permmatrix.Route(row.method, row.path, "page"), url


def _request(client: Client, row: permmatrix.Row, url: str, payload: dict | None):
    method = row.method.lower()
    key = f"{row.method} {row.shown_path}"
    if row.method in ("GET", "HEAD", "OPTIONS"):
        return getattr(client, method)(url, payload or {})
    if url.startswith("/api/") and key not in MULTIPART:
        return getattr(client, method)(url, payload or {}, content_type="application/json")
    return getattr(client, method)(url, payload or {})


@pytest.mark.django_db
def test_permission_matrix(world, settings):
    settings.DEVICE_WEBHOOK_SECRETS = {"camera": "s3cret"}
    settings.RATELIMIT_ENABLED = False  # the matrix is about roles; rate limits have their own tests
    objects = build_objects(world)
    payloads = bodies(objects)
    clients, cookies = {}, {}
    for actor in permmatrix.ACTORS:
        clients[actor] = Client()
        if actor != "anonymous":
            clients[actor].force_login(getattr(world, actor))
        cookies[actor] = copy.deepcopy(clients[actor].cookies)

    wrong, seen = [], set()
    for row, route, url in _lines(objects):
        if (row.method, url) in seen:
            continue
        seen.add((row.method, url))
        got = {}
        for actor in permmatrix.ACTORS:
            clients[actor].cookies = copy.deepcopy(cookies[actor])  # a logout or a language switch is undone too
            with transaction.atomic():
                response = _request(clients[actor], row, url, payloads.get(f"{row.method} {row.shown_path}"))
                transaction.set_rollback(True)
            got[actor] = permmatrix.classify(response)
        if not all(permmatrix.agrees(row.outcomes[a], got[a]) for a in permmatrix.ACTORS):
            where = f"line {row.line}" + (f" ({row.path})" if row.is_glob else "")
            diff = ", ".join(f"{a}: expected {row.outcomes[a]}, got {got[a]}" for a in permmatrix.ACTORS
                             if not permmatrix.agrees(row.outcomes[a], got[a]))
            objs = " ".join(f"{k}={v}" for k, v in row.objects.items())
            wrong.append(f"{where}: {row.method} {url} — {diff}\n    now: "
                         + permmatrix.suggestion(route, got).replace(" ".join(f"{p}=?" for p in route.params),
                                                                     objs if not row.is_glob else ""))
    assert not wrong, ("What these URLs answer differs from gongzhi/core/permissions.txt. If the new "
                       "answer is right, change the line (and run `python -m gongzhi.core.permmatrix --write`); "
                       "if not, it is a permission bug:\n" + "\n".join(wrong))
