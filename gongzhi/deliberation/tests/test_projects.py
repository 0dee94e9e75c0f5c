"""Projects (三个分担 and implementation): the three shares, the statements to the fen (largest
remainder, exact sum; a property test), the links to decisions, progress with photos (EXIF gone),
the publications and who may do what."""

from __future__ import annotations

import io
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from PIL import Image

from gongzhi.core.errors import Conflict
from gongzhi.core.models import AuditLog
from gongzhi.deliberation import projects, publicity
from gongzhi.deliberation.models import (
    Decision,
    Procedure,
    Project,
    ProjectPhoto,
    Publication,
    Question,
    Result,
    ShareStatement,
    Unit,
    VoterRoll,
)

pytestmark = pytest.mark.django_db
D = Decimal


# ------------------------------------------------------------------------------------ helpers


def make_roll(area, units, name="东一花园业主名册") -> VoterRoll:
    """``units``: (code, building, area) triples."""
    roll = VoterRoll.objects.create(area=area, name=name)
    Unit.objects.bulk_create([Unit(roll=roll, code=c, building=b, floor_area=D(a)) for c, b, a in units])
    return roll


def make_decision(world, roll, *, status=Decision.Status.CLOSED, passed=(True,)) -> Decision:
    decision = Decision.objects.create(area=roll.area, roll=roll, title="加装电梯", status=status)
    rule = {"electorate": "all", "count": "for", "measure": "persons", "base": "electorate", "cmp": ">=",
            "ratio": "2/3"}
    for i, ok in enumerate(passed, start=1):
        q = Question.objects.create(decision=decision, position=i, text=f"事项{i}", rule=rule)
        Result.objects.create(question=q, passed=ok, figures={}, rule=rule, rule_text="≥ 2/3")
    return decision


def new_project(world, **extra) -> Project:
    values = dict(actor=world.dispatcher, area=world.community_a, title="东一花园屋面防水", total_cost="1500.00",
                  policy_funds="300.00", committee_funds="200.00", owners_share="1000.00", split="equal")
    values.update(extra)
    return projects.create_project(**values)


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 120, 10))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (39.0, 40.0, 12.0), 3: "E", 4: (106.0, 49.0, 1.0)}
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


@pytest.fixture
def media(tmp_path, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    return tmp_path


@pytest.fixture
def three(world) -> VoterRoll:
    return make_roll(world.community_a, [("1-101", "1栋", "80.00"), ("1-102", "1栋", "80.00"),
                                         ("2-101", "2栋", "80.00")])


# ------------------------------------------------------------------------------------ allocate (pure)


def test_1000_over_three_units_adds_up_exactly():
    amounts = projects.allocate(D("1000.00"), [1, 1, 1], ["a", "b", "c"])
    assert amounts == [D("333.34"), D("333.33"), D("333.33")]  # the odd fen goes to the first code
    assert sum(amounts) == D("1000.00")


def test_ties_are_broken_by_code_not_by_position():
    assert projects.allocate(D("0.02"), [1, 1, 1], ["c", "a", "b"]) == [D("0.00"), D("0.01"), D("0.01")]


def test_by_area_with_awkward_numbers():
    weights = [D("89.37"), D("120.05"), D("66.60"), D("0.00")]
    amounts = projects.allocate(D("10000.01"), weights, ["1", "2", "3", "4"])
    assert sum(amounts) == D("10000.01")
    assert amounts[3] == D("0.00")
    for amount, exact in zip(amounts, projects.exact_shares(D("10000.01"), weights), strict=True):
        assert abs(Fraction(amount) - exact) < Fraction(1, 100)


def test_largest_remainder_gets_the_fen():
    # exact shares 3.333…, 6.666…: the larger remainder (the second) gets the odd fen
    assert projects.allocate(D("10.00"), [1, 2], ["a", "b"]) == [D("3.33"), D("6.67")]


def test_nothing_to_share_by():
    with pytest.raises(ValueError):
        projects.allocate(D("1.00"), [0, 0], ["a", "b"])
    assert projects.allocate(D("0.00"), [0, 0], ["a", "b"]) == [D("0.00"), D("0.00")]


@settings(max_examples=300, deadline=None)
@given(total_fen=st.integers(min_value=0, max_value=10**13),
       areas=st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=60),
       equal=st.booleans())
def test_property_statements_sum_exactly_and_stay_within_a_fen(total_fen, areas, equal):
    weights = [1] * len(areas) if equal else [D(a).scaleb(-2) for a in areas]
    if not equal and sum(areas) == 0:
        weights[0] = D("0.01")
    total = D(total_fen).scaleb(-2)
    keys = [f"{i:03d}" for i in range(len(weights))]
    amounts = projects.allocate(total, weights, keys)
    assert sum(amounts) == total
    assert all(a >= 0 and a == a.quantize(D("0.01")) for a in amounts)
    for amount, exact, weight in zip(amounts, projects.exact_shares(total, weights), weights, strict=True):
        assert abs(Fraction(amount) - exact) < Fraction(1, 100)
        if weight == 0:
            assert amount == 0


# ------------------------------------------------------------------------------------ create


def test_create_project_checks_that_the_shares_add_up(world):
    with pytest.raises(ValidationError) as exc:
        new_project(world, owners_share="999.99")
    message = exc.value.message_dict["total_cost"][0]
    assert "1499.99" in message and "1500.00" in message and "0.01" in message
    assert not Project.objects.exists()


@pytest.mark.parametrize("field,value", [("total_cost", "-1"), ("policy_funds", "1.005"), ("owners_share", "abc"),
                                         ("committee_funds", ""), ("total_cost", "1e20"), ("owners_share", "NaN")])
def test_bad_amounts_are_refused_at_their_field(world, field, value):
    with pytest.raises(ValidationError) as exc:
        new_project(world, **{field: value})
    assert field in exc.value.message_dict


def test_create_project_stores_the_shares_and_audits(world):
    project = new_project(world, buildings="1栋，2栋、1栋")
    assert (project.total_cost, project.policy_funds, project.committee_funds, project.owners_share) == (
        D("1500.00"), D("300.00"), D("200.00"), D("1000.00"))
    assert project.buildings == ["1栋", "2栋"] and project.status == Project.Status.PLANNED
    assert AuditLog.objects.filter(action="deliberation.create_project", object_id=str(project.pk)).exists()


def test_only_managers_create_projects(world):
    for user in (world.worker, world.resident, world.outsider):
        with pytest.raises(PermissionDenied):
            new_project(world, actor=user)
    with pytest.raises(PermissionDenied):
        new_project(world, area=world.community_b)  # the dispatcher manages street A only


def test_a_linked_decision_must_be_closed_and_passed(world, three):
    with pytest.raises(Conflict):
        new_project(world, decision=make_decision(world, three, status=Decision.Status.OPEN))
    with pytest.raises(Conflict):
        new_project(world, decision=make_decision(world, three, passed=(True, False)))
    project = new_project(world, decision=make_decision(world, three, status=Decision.Status.PUBLISHED))
    assert project.decision.status == Decision.Status.PUBLISHED


def test_a_linked_decision_must_be_of_the_area(world):
    roll_b = make_roll(world.community_b, [("1", "", "1")])
    with pytest.raises(ValidationError) as exc:
        new_project(world, decision=make_decision(world, roll_b))
    assert "decision" in exc.value.message_dict


def test_a_linked_procedure_must_have_decided(world):
    procedure = Procedure.objects.create(area=world.community_a, title="修村道")
    with pytest.raises(Conflict):
        new_project(world, procedure=procedure)
    procedure.status = Procedure.Status.DECIDED
    procedure.save()
    assert new_project(world, procedure=procedure).procedure == procedure


# ------------------------------------------------------------------------------------ statements


def test_equal_split_over_the_decisions_roll(world, three):
    project = new_project(world, decision=make_decision(world, three))
    statements = projects.compute_statements(project, actor=world.dispatcher)
    amounts = {s.unit.code: s.amount for s in statements}
    assert amounts == {"1-101": D("333.34"), "1-102": D("333.33"), "2-101": D("333.33")}
    assert projects.totals(project)["amount"] == D("1000.00")
    assert AuditLog.objects.filter(action="deliberation.compute_statements").count() == 1


def test_area_split_filtered_by_buildings_with_a_zero_area_unit(world):
    roll = make_roll(world.community_a, [("1-101", "1栋", "90.50"), ("1-102", "1栋", "0"), ("1-201", "1栋", "60.25"),
                                         ("2-101", "2栋", "100")])
    project = new_project(world, split="area", buildings=["1栋"], total_cost="1000.00", policy_funds="0",
                          committee_funds="0")
    statements = projects.compute_statements(project, actor=world.dispatcher, roll=roll)
    amounts = {s.unit.code: s.amount for s in statements}
    assert set(amounts) == {"1-101", "1-102", "1-201"}
    assert amounts["1-102"] == D("0.00")
    assert sum(amounts.values()) == D("1000.00")
    assert amounts["1-101"] == D("600.33") and amounts["1-201"] == D("399.67")  # 600.331…, 399.668…
    assert projects.zero_area_statements(project).count() == 1


def test_recomputing_replaces_and_is_refused_once_underway(world, three):
    project = new_project(world)
    projects.compute_statements(project, actor=world.dispatcher, roll=three)
    Unit.objects.create(roll=three, code="3-101", building="3栋", floor_area=D("10"))
    projects.compute_statements(project, actor=world.dispatcher, roll=three)
    assert ShareStatement.objects.filter(project=project).count() == 4
    assert projects.totals(project)["amount"] == D("1000.00")
    projects.add_update(project, actor=world.dispatcher, note="进场施工", progress=10)
    with pytest.raises(Conflict):
        projects.compute_statements(project, actor=world.dispatcher, roll=three)


def test_without_a_decision_a_roll_of_the_area_is_required(world, three):
    project = new_project(world)
    with pytest.raises(ValidationError) as exc:
        projects.compute_statements(project, actor=world.dispatcher)
    assert "roll" in exc.value.message_dict
    roll_b = make_roll(world.community_b, [("1", "", "1")])
    with pytest.raises(ValidationError):
        projects.compute_statements(project, actor=world.dispatcher, roll=roll_b)
    linked = new_project(world, decision=make_decision(world, three))
    other = make_roll(world.community_a, [("9", "", "1")], name="另一名册")
    with pytest.raises(ValidationError):
        projects.compute_statements(linked, actor=world.dispatcher, roll=other)


def test_zero_total_area_cannot_be_split_by_area(world):
    roll = make_roll(world.community_a, [("1", "", "0"), ("2", "", "0")])
    project = new_project(world, split="area")
    with pytest.raises(ValidationError) as exc:
        projects.compute_statements(project, actor=world.dispatcher, roll=roll)
    assert "split" in exc.value.message_dict


def test_no_benefiting_units(world, three):
    project = new_project(world, buildings=["9栋"])
    with pytest.raises(ValidationError):
        projects.compute_statements(project, actor=world.dispatcher, roll=three)


def test_statements_only_by_managers(world, three):
    project = new_project(world)
    with pytest.raises(PermissionDenied):
        projects.compute_statements(project, actor=world.worker, roll=three)


def test_xlsx_reads_back(world, three):
    project = new_project(world, decision=make_decision(world, three))
    projects.compute_statements(project, actor=world.dispatcher)
    book = load_workbook(io.BytesIO(projects.statement_xlsx(project)))
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("房号/户号", "楼栋", "建筑面积（㎡）", "应分摊（元）")
    assert [r[0] for r in rows[1:4]] == ["1-101", "1-102", "2-101"]
    assert [D(str(r[3])) for r in rows[1:4]] == [D("333.34"), D("333.33"), D("333.33")]
    assert rows[4][0] == "合计" and rows[4][1] == "3 户"
    assert D(str(rows[4][2])) == D("240") and D(str(rows[4][3])) == D("1000")
    summary = dict(book.worksheets[1].iter_rows(values_only=True))
    assert summary["项目名称"] == "东一花园屋面防水" and D(str(summary["政策资金（元）"])) == D("300")


# ------------------------------------------------------------------------------------ progress


def test_progress_moves_the_status_and_never_goes_back(world, media):
    project = new_project(world)
    projects.add_update(project, actor=world.dispatcher, note="材料进场", progress=0)
    project.refresh_from_db()
    assert project.status == Project.Status.UNDERWAY and project.progress == 0
    projects.add_update(project, actor=world.dispatcher, note="防水层完成一半", progress=50)
    with pytest.raises(ValidationError) as exc:
        projects.add_update(project, actor=world.dispatcher, note="x", progress=40)
    assert "progress" in exc.value.message_dict
    for bad in (101, -1, "abc", True):
        with pytest.raises(ValidationError):
            projects.add_update(project, actor=world.dispatcher, note="x", progress=bad)
    with pytest.raises(ValidationError):
        projects.add_update(project, actor=world.dispatcher, note="  ", progress=60)
    projects.add_update(project, actor=world.dispatcher, note="竣工验收", progress=100)
    project.refresh_from_db()
    assert project.status == Project.Status.DONE and project.progress == 100
    with pytest.raises(Conflict):
        projects.add_update(project, actor=world.dispatcher, note="补充", progress=100)
    assert AuditLog.objects.filter(action="deliberation.project_update", object_id=str(project.pk)).count() == 3


def test_who_may_report_progress(world, media):
    project = new_project(world, area=world.grid_a1)
    projects.add_update(project, actor=world.worker, note="巡查：已进场", progress=5)  # covers grid A1
    for user in (world.resident, world.outsider):
        with pytest.raises(PermissionDenied):
            projects.add_update(project, actor=user, note="x", progress=10)


def test_photos_are_re_encoded_without_exif(world, media):
    project = new_project(world)
    raw = jpeg_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif().get(0x8825)
    update = projects.add_update(project, actor=world.dispatcher, note="施工现场", progress=20, photos=[
        SimpleUploadedFile("IMG_0001.png", raw, content_type="image/png")])
    photo = update.photos.get()
    assert photo.image.name.endswith(".jpg") and "IMG_0001" not in photo.image.name
    with photo.image.open("rb") as fh:
        stored = Image.open(io.BytesIO(fh.read()))
    assert stored.format == "JPEG" and not stored.getexif()


def test_a_bad_photo_stores_nothing(world, media):
    project = new_project(world)
    with pytest.raises(ValidationError) as exc:
        projects.add_update(project, actor=world.dispatcher, note="施工现场", progress=20, photos=[
            SimpleUploadedFile("a.jpg", jpeg_with_gps()), SimpleUploadedFile("b.jpg", b"<html><script>")])
    assert "photos" in exc.value.message_dict
    project.refresh_from_db()
    assert project.progress == 0 and project.status == Project.Status.PLANNED
    assert not ProjectPhoto.objects.exists() and not list(media.rglob("*.jpg"))


# ------------------------------------------------------------------------------------ publicity


def test_publish_statement_and_implementation(world, three, media):
    project = new_project(world, decision=make_decision(world, three))
    with pytest.raises(Conflict):
        projects.publish_statement(project, actor=world.dispatcher, channel="小区公告栏", days=7)
    projects.compute_statements(project, actor=world.dispatcher)
    publication = projects.publish_statement(project, actor=world.dispatcher, channel="小区公告栏", days=7)
    assert publication.kind == Publication.Kind.STATEMENT and publication.project == project
    assert "1-101" in publication.content and "333.34" in publication.content and "1000.00" in publication.content
    assert publicity.verify(publication)
    assert (publication.ends_on - publication.starts_on).days == 6
    with pytest.raises(Conflict):
        projects.publish_implementation(project, actor=world.dispatcher, channel="小区公告栏", days=7)
    projects.add_update(project, actor=world.dispatcher, note="开工", progress=10)
    projects.add_update(project, actor=world.dispatcher, note="竣工", progress=100, photos=[
        SimpleUploadedFile("a.jpg", jpeg_with_gps())])
    result = projects.publish_implementation(project, actor=world.dispatcher, channel="平台公告", days=10)
    assert result.kind == Publication.Kind.IMPLEMENTATION and "竣工" in result.content and "100%" in result.content
    assert AuditLog.objects.filter(action="deliberation.publish").count() == 2


def test_publications_need_a_manager_and_valid_input(world, three):
    project = new_project(world)
    projects.compute_statements(project, actor=world.dispatcher, roll=three)
    with pytest.raises(PermissionDenied):
        projects.publish_statement(project, actor=world.worker, channel="公告栏", days=7)
    with pytest.raises(ValidationError):
        projects.publish_statement(project, actor=world.dispatcher, channel="", days=7)
    with pytest.raises(ValidationError):
        projects.publish_statement(project, actor=world.dispatcher, channel="公告栏", days="x")
    assert not Publication.objects.exists()


# ------------------------------------------------------------------------------------ edit


def edit(world, project, **extra):
    values = dict(actor=world.dispatcher, area=project.area, title=project.title, total_cost=project.total_cost,
                  policy_funds=project.policy_funds, committee_funds=project.committee_funds,
                  owners_share=project.owners_share, split=project.split, buildings=project.buildings,
                  decision=project.decision, procedure=project.procedure)
    values.update(extra)
    return projects.update_project(project, **values)


def test_editing_a_title_keeps_the_statements_and_a_share_removes_them(world, three):
    project = new_project(world)
    projects.compute_statements(project, actor=world.dispatcher, roll=three)
    edit(world, project, title="东一花园屋面防水（修订）")
    assert project.statements.count() == 3
    with pytest.raises(ValidationError):
        edit(world, project, owners_share="900.00")  # no longer adds up
    assert project.statements.count() == 3
    project = edit(world, project, owners_share="900.00", total_cost="1400.00")
    assert project.owners_share == D("900.00") and project.statements.count() == 0
    row = AuditLog.objects.filter(action="deliberation.update_project").order_by("pk").last()
    assert row.after["statements_removed"] == 3 and row.after["owners_share"] == "900.00"


def test_editing_is_for_managers_and_only_while_planned(world, media):
    project = new_project(world)
    with pytest.raises(PermissionDenied):
        edit(world, project, actor=world.worker)
    with pytest.raises(PermissionDenied):
        edit(world, project, area=world.community_b)
    projects.add_update(project, actor=world.dispatcher, note="开工", progress=5)
    with pytest.raises(Conflict):
        edit(world, project, title="x")
