"""Workbooks for the tests, built in memory."""

from __future__ import annotations

import io

SURVEY_HEADER = ["type", "name", "label", "required", "relevant", "constraint", "constraint_message", "department",
                 "severity", "rectification_days", "legal_basis"]


def workbook(survey: list[list], choices: list[list] | None = None, settings: list[list] | None = None,
             survey_header: list[str] | None = None) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "survey"
    sheet.append(survey_header or SURVEY_HEADER)
    for row in survey:
        sheet.append(row)
    c = book.create_sheet("choices")
    for row in choices if choices is not None else [["list_name", "name", "label"], ["yn", "yes", "是"],
                                                      ["yn", "no", "否"]]:
        c.append(row)
    s = book.create_sheet("settings")
    for row in settings or [["form_title", "form_id", "version"], ["测试表", "test", "1"]]:
        s.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def row(type_: str, name: str, label: str, *, required="", relevant="", constraint="", message="", department="",
        severity="", days=None, legal="") -> list:
    return [type_, name, label, required, relevant, constraint, message, department, severity, days, legal]
