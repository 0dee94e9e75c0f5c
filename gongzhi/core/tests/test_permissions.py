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
    from gongzhi.portal.tests.fuzz_objects import matrix_objects as portal_objects

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
        **registry_canaries(world),
        **portal_objects(world),
    }


# --------------------------------------------------------------------------- registry canaries (the leak test)

#: Every sealed field of the registry objects holds one of these plaintexts; none of them, nor a
#: 6-digit slice of an identity number or phone, may reach a response (except the reveal for admin).
CANARY_ID = "150302198001017777"
CANARY_PHONE = "13877770000"
CANARY_NAME = "金丝雀甲"  # the person's name: only for those who see a registry of street A
NAME_MARK = "金丝雀"  # in every canary name (person, team, parties): none for actors who see no registry
TEAM_PHONES = [f"1397777000{i}" for i in range(1, 6)]
PARTY_PHONE = "13677770006"
DIGITS = [CANARY_ID, CANARY_PHONE, PARTY_PHONE, *TEAM_PHONES]
SEALED_CANARIES = [
    *DIGITS, "CANARY-户址-东一网格1号", "CANARY-住址-东一网格1号", "CANARY-暂住-东一网格2号", "CANARY-诊断-1",
    "CANARY-罪名-1", "CANARY-宣告-1", "CANARY-报到-1", "CANARY-评估-1", "CANARY-困难-1", "金丝雀咨询人",
    "CANARY-咨询-1", "CANARY-解答-1", "CANARY-纠纷-1", "CANARY-协议-1", "金丝雀当事人", "CANARY-调解-1",
    "CANARY-走访-1", "CANARY-结果-1",
]
#: actors who see no registry of street A: not even a canary name may reach them
NO_REGISTRY = {"anonymous", "resident", "dispatcher", "outsider"}
REVEAL_KINDS = ["person", "household", "floatingregistration", "keyperson", "correction", "teammember",
                "correctionreport", "riskassessment", "needcase", "consultation", "mediation", "mediationparty",
                "mediationsession", "visit"]
OFFICER = "privacy_officer"


def registry_canaries(world) -> dict[str, str]:
    """One object of every registry model in street A (ORM, no services), every sealed field a canary.
    Also an officer (reveal, export and approval permissions, 领导 of street A) who asked for an export."""
    import datetime

    from django.contrib.auth.models import Group, Permission

    from gongzhi.orgs import services as org_services
    from gongzhi.orgs.models import Role
    from gongzhi.registries import access
    from gongzhi.registries import models as rm

    today = datetime.date(2026, 3, 2)
    officer = org_services.create_user(actor=None, username=OFFICER, password=None, display_name="隐私专员")
    group = Group.objects.create(name="台账隐私专员（权限矩阵）")
    group.permissions.set(Permission.objects.filter(
        content_type__app_label="registries", codename__in=["reveal_sensitive", "export_sensitive", "approve_export"]))
    officer.groups.add(group)
    org_services.assign_role(actor=None, user=officer, area=world.street_a, role=Role.objects.get(code="leader"))
    judicial = org_services.create_department(actor=None, name="东司法所", code="judicial-a", kind="judicial",
                                              areas=[world.street_a], home_area=world.street_a)
    household = rm.Household.objects.create(area=world.grid_a1, number="A1-0001", address="CANARY-户址-东一网格1号")
    person = rm.Person.objects.create(
        name=CANARY_NAME, gender="m", birth_year=1980, id_number=CANARY_ID, phone=CANARY_PHONE,
        address="CANARY-住址-东一网格1号", area=world.grid_a1, household=household, relation="户主",
        residence=rm.Person.Residence.FLOATING)
    stay = rm.FloatingRegistration.objects.create(person=person, area=world.grid_a1, address="CANARY-暂住-东一网格2号",
                                                  reason="务工", housing="租赁", moved_in_on=today)
    category, _ = rm.KeyCategory.objects.get_or_create(code="canary", defaults={"name": "矩阵类别"})
    keyperson = rm.KeyPerson.objects.create(person=person, category=category, responsible=world.worker,
                                            details="CANARY-诊断-1", next_visit_due=today)
    correction = rm.Correction.objects.create(
        person=person, department=judicial, kind=rm.Correction.Kind.PROBATION, offence="CANARY-罪名-1",
        term_start=today, term_end=today + datetime.timedelta(days=365), status=rm.Correction.Status.ACTIVE,
        announced_on=today, announcement="CANARY-宣告-1", next_report_due=today)
    team = [rm.TeamMember.objects.create(correction=correction, role=role, name=f"金丝雀组{i}", phone=phone,
                                         user=world.handler if role == rm.TeamMember.Role.POLICE else None)
            for i, (role, phone) in enumerate(zip(rm.TeamMember.Role.values, TEAM_PHONES, strict=True), 1)]
    report = rm.CorrectionReport.objects.create(correction=correction, kind=rm.CorrectionReport.Kind.CHECK_IN,
                                                on=today, note="CANARY-报到-1")
    assessment = rm.RiskAssessment.objects.create(correction=correction, assessed_on=today, scores={"a": 1},
                                                  total=10, level=rm.RiskAssessment.Level.LOW, note="CANARY-评估-1")
    base = rm.PlacementBase.objects.create(area=world.community_a, name="东一公益基地",
                                           kind=rm.PlacementBase.Kind.SERVICE)
    hours = rm.ServiceHours.objects.create(correction=correction, base=base, on=today, hours=Decimal("2.0"),
                                           activity="清扫")
    kind, _ = rm.DifficultyKind.objects.get_or_create(code="canary", defaults={"name": "矩阵困难"})
    needcase = rm.NeedCase.objects.create(household=household, details="CANARY-困难-1", opened_on=today)
    needcase.kinds.add(kind)
    plan = rm.AssistancePlan.objects.create(case=needcase, measures="每月探望一次", starts_on=today)
    help_record = rm.HelpRecord.objects.create(case=needcase, kind=rm.HelpRecord.Kind.GOODS, on=today,
                                               description="米面油")
    batch = rm.ReliefBatch.objects.create(area=world.community_a, name="冬季救助", goods="棉被")
    recipient = rm.ReliefRecipient.objects.create(batch=batch, household=household)
    adviser = rm.LegalAdviser.objects.create(area=world.community_a, name="顾问甲", firm="东一律师事务所")
    consultation = rm.Consultation.objects.create(
        area=world.community_a, adviser=adviser, person=person, requester="金丝雀咨询人", topic="婚姻家庭",
        question="CANARY-咨询-1", advice="CANARY-解答-1", on=today)
    mediation = rm.Mediation.objects.create(area=world.community_a, number="TJ-2026-0001",
                                            kind=rm.Mediation.Kind.NEIGHBOUR, summary="CANARY-纠纷-1",
                                            agreement="CANARY-协议-1", outcome="CANARY-结果-1",
                                            received_on=today)
    party = rm.MediationParty.objects.create(mediation=mediation, side=rm.MediationParty.Side.APPLICANT,
                                             person=person, name="金丝雀当事人", phone=PARTY_PHONE)
    session = rm.MediationSession.objects.create(mediation=mediation, on=today, place="东一社区调解室",
                                                 note="CANARY-调解-1")
    visit = rm.Visit.objects.create(visitor=world.worker, area=world.grid_a1, household=household, person=person,
                                    key_person=keyperson, purpose=rm.Visit.Purpose.KEY_PERSON, notes="CANARY-走访-1")
    log_row = access.log(officer, person, purpose=rm.AccessLog.Purpose.VISIT, reason="走访前核对住址",
                         fields=["id_number"])
    export = rm.ExportRequest.objects.create(registry=rm.Registry.RESIDENTS, area=world.street_a,
                                             purpose=rm.AccessLog.Purpose.VISIT, reason="年度人口核查",
                                             requested_by=officer)
    objects = {
        "person": person, "household": household, "stay": stay, "keyperson": keyperson, "correction": correction,
        "team_member": team[0], "correction_report": report, "assessment": assessment, "service_hours": hours,
        "placement_base": base, "needcase": needcase, "assistance_plan": plan, "help_record": help_record,
        "relief_batch": batch, "relief_recipient": recipient, "legal_adviser": adviser,
        "consultation": consultation, "mediation": mediation, "mediation_party": party,
        "mediation_session": session, "registry_visit": visit, "access_log": log_row, "export_request": export,
    }
    return {name: str(obj.pk) for name, obj in objects.items()}


def _text(response) -> str:
    """A response's body as text: an xlsx's cells, other bytes decoded as far as they go."""
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content)
    else:
        body = response.content
    if body[:2] == b"PK" and "spreadsheet" in response.get("Content-Type", ""):
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                         for cell in row if cell is not None)
    return body.decode("utf-8", errors="ignore")


def _slices(value: str, n: int = 6) -> set[str]:
    return {value[i:i + n] for i in range(len(value) - n + 1)}


SLICES = set().union(*(_slices(d) for d in DIGITS))


def leaks(text: str, *, names: bool) -> list[str]:
    """The canaries found in ``text``: sealed plaintexts, 6-digit slices of the identity number and
    phones (a slice inside a long random token — a CSRF token, a hash — is not one), and with
    ``names`` the canary names."""
    import re

    found = [c for c in SEALED_CANARIES if c in text]
    for piece in SLICES:
        for match in re.finditer(piece, text):
            start, end = match.start(), match.end()
            while start > 0 and text[start - 1].isascii() and text[start - 1].isalnum():
                start -= 1
            while end < len(text) and text[end].isascii() and text[end].isalnum():
                end += 1
            run = text[start:end]
            if len(run) >= 20 and re.search(r"[A-WYZa-wyz]", run):
                continue
            found.append(f"slice {piece}")
            break
    if names and NAME_MARK in text:
        found.append(NAME_MARK)
    return found


def may_read_plaintext(actor: str, row: permmatrix.Row) -> bool:
    """The full view itself: the reveal page's and the API's POST, for the one actor who may reveal."""
    return actor == "admin" and row.method == "POST" and row.path.startswith(
        ("/registries/reveal/", "/api/v1/registries/reveal/"))


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
        # registries: privacy (reveal, exports; the identity number only ever in a body)
        **{key.format(kind=kind): {"purpose": "visit", "reason": "走访前核对住址"} for kind in [
            "{kind}", *REVEAL_KINDS] for key in ("POST /registries/reveal/{kind}/{{pk}}/",
                                                  "POST /api/v1/registries/reveal/{kind}/{{object_id}}")},
        "POST /api/v1/registries/people/search": {"id_number": CANARY_ID},
        "POST /registries/exports/new/": {"registry": "residents", "area": objects["street_a"], "purpose": "visit",
                                          "reason": "年度人口核查"},
        "GET /registries/exports/subject/": {"person": objects["person"]},
        "POST /registries/exports/subject/": {"person": objects["person"], "reason": "本人书面申请导出"},
        "POST /registries/exports/{pk}/decide/": {"decision": "approve", "note": "同意"},
        # registries: residents (an exact search; an edit that keeps the person as they are)
        "POST /registries/people/": {"id_number": CANARY_ID},
        "POST /registries/people/{pk}/edit/": {"area": objects["grid_a1"], "name": CANARY_NAME, "residence": "floating"},
    }


MULTIPART = {"POST /api/v1/cases/with-photos", "POST /api/v1/cases/{number}/handle"}


# --------------------------------------------------------------------------- the matrix


def _value(name: str, value: str, objects: dict[str, str]) -> str:
    """A URL parameter's value: an object's, or the literal. A record kind (the registries' reveal URLs:
    kind=person, kind=correction …) is always literal — the kinds share their names with objects."""
    return value if name == "kind" else objects.get(value, value)


def _lines(objects: dict[str, str]):
    """(row, route, url) for every line and every URL a glob line stands for."""
    for route in ROUTES:
        for row in permmatrix.rows_for(route, ROWS):
            values = admin_params(route) if row.is_glob else {}
            values.update({k: _value(k, v, objects) for k, v in row.objects.items()})
            url = route.path
            for name, value in values.items():
                url = url.replace("{" + name + "}", value)
            yield row, route, url
    for row in ROWS:  # page forms: POST lines for pages the resolver lists as GET
        if row.method != "GET" and not row.is_glob and not any(r.method == row.method and r.path == row.path
                                                                for r in ROUTES):
            url = row.path
            for name, value in row.objects.items():
                url = url.replace("{" + name + "}", _value(name, value, objects))
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

    wrong, seen, leaked = [], set(), []
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
            if not may_read_plaintext(actor, row):  # the leak test: no canary reaches anyone without the right
                found = leaks(_text(response), names=actor in NO_REGISTRY)
                if found:
                    more = f" (+{len(found) - 4} more)" if len(found) > 4 else ""
                    leaked.append(f"line {row.line}: {row.method} {url} as {actor}: {', '.join(found[:4])}{more}")
        if not all(permmatrix.agrees(row.outcomes[a], got[a]) for a in permmatrix.ACTORS):
            where = f"line {row.line}" + (f" ({row.path})" if row.is_glob else "")
            diff = ", ".join(f"{a}: expected {row.outcomes[a]}, got {got[a]}" for a in permmatrix.ACTORS
                             if not permmatrix.agrees(row.outcomes[a], got[a]))
            objs = " ".join(f"{k}={v}" for k, v in row.objects.items())
            wrong.append(f"{where}: {row.method} {url} — {diff}\n    now: "
                         + permmatrix.suggestion(route, got).replace(" ".join(f"{p}=?" for p in route.params),
                                                                     objs if not row.is_glob else ""))
    assert not leaked, "Sensitive canaries reached someone without the right:\n" + "\n".join(leaked)
    assert not wrong, ("What these URLs answer differs from gongzhi/core/permissions.txt. If the new "
                       "answer is right, change the line (and run `python -m gongzhi.core.permmatrix --write`); "
                       "if not, it is a permission bug:\n" + "\n".join(wrong))
