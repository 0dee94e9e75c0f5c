"""The xlsx import: a dry run writes nothing, bad rows are listed with their reason, a good file commits."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from gongzhi.safety import io as safety_io
from gongzhi.safety import services
from gongzhi.safety.models import Grade

from .conftest import GREEN, MONTH

HEADER = ["辖区编码", "月份", "刑事案件", "治安案件", "两抢一盗", "诈骗案件", "满意率"]


def xlsx(*rows, header=HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD = xlsx(("pa-a", "2026-10", 1, 2, 0, 0, 96), ("pa-b", "2026年9月", 5, 8, 3, 1, "82%"))


def test_a_dry_run_reports_and_writes_nothing(world, police):
    report = safety_io.import_figures(GOOD, actor=world.admin)
    assert report.ok and not report.committed
    assert (report.total, report.created, report.updated) == (2, 2, 0)
    assert "试运行" in report.summary()
    assert not Grade.objects.exists()


def test_a_good_file_commits_every_row(world, police):
    services.record_figures(police[0], MONTH, actor=world.admin, values=GREEN)
    report = safety_io.import_figures(GOOD, actor=world.admin, commit=True)
    assert report.committed and (report.created, report.updated) == (1, 1)
    levels = dict(Grade.objects.values_list("police_area__code", "level"))
    assert levels == {"pa-a": "green", "pa-b": "red"}
    assert set(Grade.objects.values_list("source", flat=True)) == {"import"}


def test_bad_rows_are_each_reported_and_nothing_is_written(world, police):
    services.publish_grade(services.record_figures(police[1], MONTH, actor=world.admin, values=GREEN),
                           actor=world.admin)
    data = xlsx(
        ("pa-a", "2026-10", 1, 2, 0, 0, 96),     # 2 good
        ("pa-x", "2026-10", 1, 2, 0, 0, 96),     # 3 unknown jurisdiction
        ("pa-a", "2026-13", 1, 2, 0, 0, 96),     # 4 bad month
        ("pa-a", "2026-09", -1, 2, 0, 0, 96),    # 5 negative count
        ("pa-a", "2026-08", 1, 2, 0, 0, 120),    # 6 satisfaction over 100
        ("pa-a", "2026-10", 1, 2, 0, 0, 96),     # 7 the same month twice
        ("pa-b", "2026-10", 1, 2, 0, 0, 96),     # 8 already published
        ("", "2026-07", 1, 2, 0, 0, 96),         # 9 no code
    )
    report = safety_io.import_figures(data, actor=world.admin, commit=True)
    assert not report.committed
    assert sorted({e.row for e in report.errors}) == [3, 4, 5, 6, 7, 8, 9]
    lines = report.error_lines()
    assert any("第 3 行" in line and "pa-x" in line for line in lines)
    assert any("第 8 行" in line and "已发布" in line for line in lines)
    assert "未写入" in report.summary()
    assert Grade.objects.count() == 1  # only the published one from before


def test_rows_outside_the_users_jurisdiction_are_refused(world, police):
    report = safety_io.import_figures(GOOD, actor=world.handler)  # 东派出所: pa-a only
    assert [e.row for e in report.errors] == [3]


def test_a_file_without_the_columns_or_not_a_workbook_is_refused(world, police):
    with pytest.raises(safety_io.FiguresFileError, match="缺少列"):
        safety_io.import_figures(xlsx(("pa-a", "2026-10"), header=["辖区编码", "月份"]), actor=world.admin)
    with pytest.raises(safety_io.FiguresFileError, match="xlsx"):
        safety_io.import_figures(b"not a workbook", actor=world.admin)


def test_english_headers_are_accepted(world, police):
    data = xlsx(("pa-a", "2026-10", 0, 0, 0, 0, 99), header=["code", "month", "criminal", "public_order",
                                                             "robbery_theft", "fraud", "satisfaction"])
    assert safety_io.import_figures(data, actor=world.admin).ok


def test_the_template_has_the_header_row():
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(safety_io.template_bytes())).active
    assert [c.value for c in sheet[1]] == HEADER


def test_a_survey_can_stand_in_for_the_percentage(world, police):
    data = xlsx(("pa-a", "2026-10", 0, 0, 0, 0, None, 200, 190), ("pa-b", "2026-10", 0, 0, 0, 0, None, 10, 11),
                header=[*HEADER, "受访人数", "满意人数"])
    report = safety_io.import_figures(data, actor=world.admin)
    assert [(e.row, e.field) for e in report.errors] == [(3, "满意人数")]
    data = xlsx(("pa-a", "2026-10", 0, 0, 0, 0, None, 200, 190), header=[*HEADER, "受访人数", "满意人数"])
    assert safety_io.import_figures(data, actor=world.admin, commit=True).committed
    assert str(Grade.objects.get().satisfaction) == "95.00"


def test_the_command_is_a_dry_run_unless_commit(world, police, tmp_path):
    from django.core.management import CommandError, call_command

    path = tmp_path / "figures.xlsx"
    path.write_bytes(GOOD)
    out = io.StringIO()
    call_command("import_safety_figures", str(path), "--user", "admin", stdout=out)
    assert "试运行" in out.getvalue() and not Grade.objects.exists()
    call_command("import_safety_figures", str(path), "--user", "admin", "--commit", stdout=out)
    assert Grade.objects.count() == 2
    with pytest.raises(CommandError, match="第 3 行"):  # the handler may not enter 西派出所辖区
        call_command("import_safety_figures", str(path), "--user", "handler", stdout=out)
