"""The monthly report: the files open (openpyxl, pypdf) and hold the right figures; the download page
and the command."""

from __future__ import annotations

import datetime
import io
import zoneinfo

import pytest
from django.core.management import call_command
from openpyxl import load_workbook
from pypdf import PdfReader

from gongzhi.cases.choices import Source, Status
from gongzhi.screen import report

from .conftest import event, make_case

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
OCTOBER = datetime.date(2026, 10, 1)


def at(day: int, hour: int = 10, month: int = 10) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, tzinfo=TZ)


@pytest.fixture
def october(world, categories):
    """Street A: 5 cases reported in October (3 from the hotline, 2 from patrols; 4 garbage, 1 stall),
    one of them overdue on 20 October; one case on 1 November at 00:30 local time (not October's);
    street B: 2 cases (not in street A's report, in the city's)."""
    a1, a2, b1 = world.grid_a1, world.grid_a2, world.grid_b1
    g, s = categories["garbage"], categories["stall"]
    cases = [
        make_case(a1, created_at=at(1, 0), source=Source.HOTLINE, status=Status.CLOSED, category=g,
                  closed_at=at(2)),
        make_case(a1, created_at=at(10), source=Source.HOTLINE, status=Status.CLOSED, category=g, closed_at=at(12)),
        make_case(a2, created_at=at(18), source=Source.HOTLINE, status=Status.IN_PROGRESS, category=s,
                  overdue=True, due_at=at(20), title="占道经营超期"),
        make_case(a1, created_at=at(31, 23), source=Source.PATROL, status=Status.FILED, category=g),
        make_case(a2, created_at=at(25), source=Source.PATROL, status=Status.FILED, category=g),
        make_case(a1, created_at=at(1, 0, month=11) + datetime.timedelta(minutes=30), source=Source.PATROL,
                  category=g),
        make_case(b1, created_at=at(5), source=Source.DEVICE, status=Status.FILED, category=s),
        make_case(b1, created_at=at(6), source=Source.DEVICE, status=Status.FILED, category=s),
    ]
    for c in cases[:2]:
        event(c, "verify", c.closed_at, from_status=Status.HANDLED, to_status=Status.CLOSED)
    event(cases[2], "overdue", at(20), from_status=Status.IN_PROGRESS, to_status=Status.IN_PROGRESS)
    return cases


@pytest.fixture
def counted(october):
    """October's cases, with the indicators' months counted as the worker's recount pass counts the
    months never counted (a download never counts)."""
    from gongzhi.evaluation import services

    services.count_missing()
    return october


def test_the_street_report_counts_its_month(world, counted):
    built = report.build(OCTOBER, world.street_a)
    assert built.kind == "street"
    assert built.intake_total == 5
    assert dict(built.by_source)["12345 热线"] == 3 and dict(built.by_source)["网格员巡查"] == 2
    assert [(code, n) for code, _name, n in built.by_class] == [("06", 4), ("09", 1)]
    assert built.overdue_total == 1 and built.overdue[0]["title"] == "占道经营超期"
    assert built.figures.counts["cases"] == 5
    assert built.ranking_level == "community"
    assert built.own_rank is not None  # 东街道 among the streets


def test_the_city_report_lists_every_street(world, counted):
    built = report.build(OCTOBER, world.city)
    assert built.kind == "city" and built.intake_total == 7
    assert built.ranking_level == "street"
    assert sorted(r.area.name for r in built.ranking) == ["东街道", "西街道"]
    assert {r.area.name: r.figures.cases for r in built.ranking} == {"东街道": 5, "西街道": 2}


def test_the_xlsx_opens_with_the_figures_and_charts(world, counted):
    data = report.to_xlsx(report.build(OCTOBER, world.street_a))
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames[:4] == ["概况", "受理来源", "分类大类", "指标"]
    sources = {row[0]: row[1] for row in wb["受理来源"].iter_rows(min_row=2, values_only=True)}
    assert sources["12345 热线"] == 3 and sources["网格员巡查"] == 2
    assert wb["概况"]["A1"].value == "东街道 2026年10月 月报"
    overdue = [row for row in wb["超期案件"].iter_rows(min_row=2, values_only=True)]
    assert len(overdue) == 1 and overdue[0][1] == "占道经营超期"
    assert "平安等级" not in wb.sheetnames or wb["平安等级"].max_row == 1  # no grades in October here
    # native charts (openpyxl keeps them in the sheet's _charts when writing; reading drops them,
    # so look into the package for the chart parts)
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert sum(1 for n in names if n.startswith("xl/charts/chart")) >= 2


def test_the_pdf_opens_with_chinese_text_and_the_figures(world, counted, grades):
    data = report.to_pdf(report.build(OCTOBER, world.city))
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert data.startswith(b"%PDF")
    assert "测试市 2026年10月 月报" in text
    assert "本月上报 7 件" in text
    assert "东街道" in text and "西街道" in text
    assert "占道经营超期" in text
    assert "六、平安等级" in text and "东港警务区" in text and "红色·警告" in text
    assert f"共 {len(reader.pages)} 页" in text


def test_downloads_for_the_dispatcher_within_their_street(login, world, counted):
    client = login(world.dispatcher)
    response = client.get("/screen/reports/2026-10.xlsx")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="monthly-990101001-2026-10.xlsx"'
    response = client.get("/screen/reports/2026-10.pdf", {"area": world.street_a.pk})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert client.get("/screen/reports/2026-10.pdf", {"area": world.street_b.pk}).status_code == 404
    assert client.get("/screen/reports/2999-01.pdf").status_code == 400
    assert client.get("/screen/reports/2026-13.pdf").status_code == 400
    assert login(world.worker).get("/screen/reports/2026-10.pdf").status_code == 403


def test_the_download_page_offers_months_and_areas(login, world):
    client = login(world.dispatcher)
    html = client.get("/screen/reports/").content.decode()
    assert "东街道" in html and "西街道" not in html
    response = client.get("/screen/reports/", {"month": "2026-10", "area": world.street_a.pk, "fmt": "pdf"})
    assert response.status_code == 302
    assert response["Location"] == f"/screen/reports/2026-10.pdf?area={world.street_a.pk}"
    for month in ("abc", "2026-1", "", "２０２６-１０", "2026-10/../x"):  # the page again, never a 500
        assert client.get("/screen/reports/", {"month": month, "fmt": "pdf"}).status_code in (200, 302)


def test_a_month_never_counted_is_not_counted_by_the_download_but_by_the_command(login, world, october,
                                                                                tmp_path):
    from gongzhi.evaluation.models import AreaMonth, MonthlyFact, RecountLog

    client = login(world.dispatcher)
    response = client.get("/screen/reports/2026-10.xlsx")
    assert response.status_code == 503 and response["Retry-After"]
    assert "尚未统计" in response.content.decode() and "2026-10" in response.content.decode()
    assert (MonthlyFact.objects.count(), AreaMonth.objects.count(), RecountLog.objects.count()) == (0, 0, 0)
    out = io.StringIO()
    call_command("monthly_report", "--month", "2026-10", "--area", world.street_a.code, "--format", "xlsx",
                 "--out", str(tmp_path), stdout=out)
    assert "counted 2026-10" in out.getvalue()
    assert sorted(RecountLog.objects.values_list("month", flat=True)) == [datetime.date(2026, 10, 1)]
    assert client.get("/screen/reports/2026-10.xlsx").status_code == 200


def test_the_command_writes_the_files(world, october, tmp_path):
    out = io.StringIO()
    call_command("monthly_report", "--month", "2026-10", "--streets", "--city", "--out", str(tmp_path), stdout=out)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["monthly-990100-2026-10.pdf", "monthly-990100-2026-10.xlsx",
                     "monthly-990101001-2026-10.pdf", "monthly-990101001-2026-10.xlsx",
                     "monthly-990101002-2026-10.pdf", "monthly-990101002-2026-10.xlsx"]
    assert "monthly-990101001-2026-10.pdf" in out.getvalue()
