"""The monthly report (月报) of one area — a street, or the city (any area above the streets) — as
xlsx (openpyxl, with native charts) and PDF (``gongzhi.core.pdf``, Chinese text, charts).

``build(month, area)`` gathers the figures once; ``to_xlsx(report)`` and ``to_pdf(report)`` draw
them. Contents (docs/screen.md):

1. intake: the month's reports by source and by category class (大类);
2. the indicators of ``gongzhi.evaluation`` for the area (every indicator, with numerator and
   denominator) and the scheme's score;
3. the ranking with the change from the previous month: for a street, its own place among the
   streets and the ranking of its communities; for the city, every street with the three rates;
4. the cases that became overdue during the month;
5. the safety grades of the police jurisdictions overlapping the area (published ones), if the
   safety app has any for the month.

Months are calendar months in local time (``TIME_ZONE``); a case counts in the month it was
reported, as in the indicators (docs/indicators.md).
"""

from __future__ import annotations

import datetime
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.areas.models import Area, AreaLevel
from gongzhi.cases.choices import Source
from gongzhi.cases.models import Case, CaseEvent

from . import sources

#: The 12345 hotlines' three rates (三率), shown beside every area of a ranking.
THREE_RATES = ("response", "resolve", "satisfy")
OVERDUE_ROWS_XLSX = 5000
OVERDUE_ROWS_PDF = 60


@dataclass
class Report:
    month: datetime.date
    area: Area
    kind: str                                   # "street" (its own area) or "city" (per street)
    generated_at: datetime.datetime
    intake_total: int = 0
    by_source: list[tuple[str, int]] = field(default_factory=list)
    by_class: list[tuple[str, str, int]] = field(default_factory=list)   # (code, name, count)
    figures: object | None = None               # evaluation Figures, every indicator (scoring.ALL)
    score: Decimal | None = None                # the default scheme's score
    own_rank: object | None = None              # RankRow of the area among its level (street report)
    own_rank_total: int = 0
    ranking_level: str = ""
    ranking_level_name: str = ""
    ranking: list = field(default_factory=list)     # RankRow, the default scheme
    ranking_rates: dict = field(default_factory=dict)  # area pk → Figures with every indicator
    overdue: list[dict] = field(default_factory=list)
    overdue_total: int = 0
    safety: list | None = None                  # safety.queries.month_grades rows, None: no safety app

    @property
    def month_label(self) -> str:
        return _("%(year)d年%(month)d月") % {"year": self.month.year, "month": self.month.month}

    @property
    def title(self) -> str:
        return _("%(area)s %(month)s 月报") % {"area": self.area.name, "month": self.month_label}

    def filename(self, fmt: str) -> str:
        return f"monthly-{self.area.code or self.area.pk}-{self.month:%Y-%m}.{fmt}"


def parse_month(text: str) -> datetime.date:
    """``2026-11`` → 2026-11-01; ValueError for anything else or a month not begun yet."""
    try:
        year, month = (int(p) for p in str(text).split("-"))
        value = datetime.date(year, month, 1)
    except (TypeError, ValueError):
        raise ValueError(_("月份格式应为 YYYY-MM，如 2026-11")) from None
    if value > timezone.localdate().replace(day=1) or year < 2000:
        raise ValueError(_("只能生成已经开始的月份的月报"))
    return value


def report_kind(area: Area) -> str:
    """A street or anything below it reports on itself; an area above the streets, per street."""
    street_rank = AreaLevel.objects.filter(slug="street").values_list("rank", flat=True).first()
    if street_rank is None or area.level.rank >= street_rank:
        return "street"
    return "city"


def _month_range(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    from gongzhi.evaluation.counting import moment_range, next_month

    return moment_range(month, next_month(month) - datetime.timedelta(days=1))


def months_needed(month: datetime.date) -> list[datetime.date]:
    """The indicators' months a report reads: its month and the one before (the ranking's change)."""
    month = month.replace(day=1)
    return [(month - datetime.timedelta(days=1)).replace(day=1), month]


def pending(month: datetime.date) -> list[datetime.date]:
    """Those of ``months_needed`` never counted (尚未统计): the download waits for the worker; the
    ``monthly_report`` command counts them first (``evaluation.services.ensure_counted``)."""
    from gongzhi.evaluation.queries import pending_months

    return pending_months(months_needed(month))


def build(month: datetime.date, area: Area, *, now: datetime.datetime | None = None) -> Report:
    """Gather the report's figures (a dozen queries, most of them on the monthly fact tables)."""
    from gongzhi.evaluation import scoring
    from gongzhi.evaluation.queries import indicators, monthly_ranking

    month = month.replace(day=1)
    report = Report(month=month, area=area, kind=report_kind(area),
                    generated_at=timezone.localtime(now or timezone.now()))
    lo, hi = _month_range(month)
    cases = Case.objects.filter(area_path__startswith=area.path, created_at__gte=lo, created_at__lt=hi)

    counts = dict(cases.order_by().values_list("source").annotate(n=Count("pk")))
    report.by_source = [(str(label), counts.get(code, 0)) for code, label in Source.choices]
    report.intake_total = sum(counts.values())
    classes = (cases.order_by().values_list("category__major_code", "category__major_name")
               .annotate(n=Count("pk")).order_by("-n", "category__major_code"))
    report.by_class = [(code or "", name or _("未分类"), n) for code, name, n in classes]

    end = (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1)
    report.figures = indicators(area, month, end, scheme=scoring.ALL)
    report.score = indicators(area, month, end).score

    level = sources.ranking_level([area])
    report.ranking_level = level
    report.ranking_level_name = str(AreaLevel.objects.filter(slug=level).values_list("name", flat=True)
                                    .first() or level)
    report.ranking = monthly_ranking(month, level=level, within=area)
    report.ranking_rates = {r.area.pk: r.figures
                            for r in monthly_ranking(month, level=level, within=area, scheme=scoring.ALL)}
    if report.kind == "street" and area.parent_id is not None:
        peers = monthly_ranking(month, level=area.level.slug)
        report.own_rank = next((r for r in peers if r.area.pk == area.pk), None)
        report.own_rank_total = sum(1 for r in peers if r.rank is not None)

    firsts = (CaseEvent.objects.filter(action="overdue", at__gte=lo, at__lt=hi,
                                       case__area_path__startswith=area.path)
              .values("case_id").annotate(first=Min("at")).order_by("first", "case_id"))
    report.overdue_total = firsts.count()
    first_at = {row["case_id"]: row["first"] for row in firsts[:OVERDUE_ROWS_XLSX]}
    by_id = (Case.objects.filter(pk__in=list(first_at)).select_related("category", "department", "area")
             .defer("area__geometry", "description"))
    rows = []
    for case in by_id:
        rows.append({"number": case.number, "title": case.title,
                     "category": case.category.name if case.category else "",
                     "department": case.department.name if case.department else "",
                     "area": case.area.name if case.area else "", "status": str(case.get_status_display()),
                     "reported": timezone.localtime(case.created_at).strftime("%Y-%m-%d %H:%M"),
                     "overdue_at": timezone.localtime(first_at[case.pk]).strftime("%Y-%m-%d %H:%M")})
    rows.sort(key=lambda r: (r["overdue_at"], r["number"]))
    report.overdue = rows
    report.safety = sources.safety_grades(month, [area])
    return report


# --------------------------------------------------------------------------- shared rows


def _pct(value) -> float | None:
    return None if value is None else float(value)


def _change(row) -> str:
    if row is None or row.change is None:
        return "—"
    return f"+{row.change}" if row.change > 0 else str(row.change)


def indicator_rows(report: Report) -> list[list]:
    """[名称, 分子, 分母, 比率 %] for every indicator."""
    rows = []
    for rate in report.figures.rates.values():
        rows.append([rate.label, float(rate.numerator), rate.denominator, _pct(rate.percent)])
    return rows


def ranking_rows(report: Report) -> list[list]:
    """[排名, 名称, 得分, 上月排名, 变化, 响应率, 解决率, 满意率, 案件数] per ranked area."""
    out = []
    for r in report.ranking:
        rates = report.ranking_rates.get(r.area.pk)
        three = [_pct(rates.rates[c].percent) if rates and c in rates.rates else None for c in THREE_RATES]
        out.append([r.rank, str(r.area.name), _pct(r.score), r.previous_rank, _change(r), *three, r.figures.cases])
    return out


def ranking_header() -> list[str]:
    return [_("排名"), _("名称"), _("得分"), _("上月排名"), _("变化"), _("响应率 %"), _("解决率 %"), _("满意率 %"),
            _("案件数")]


def safety_rows(report: Report) -> list[list]:
    from gongzhi.safety.models import Level

    out = []
    for pa, level, figures in report.safety or []:
        out.append([pa.code, pa.name, str(Level(level).label) if level in Level.values else level,
                    figures.get("criminal"), figures.get("public_order"), figures.get("robbery_theft"),
                    figures.get("fraud"), figures.get("satisfaction")])
    return out


def safety_header() -> list[str]:
    return [_("编码"), _("辖区"), _("等级"), _("刑事案件"), _("治安案件"), _("两抢一盗"), _("诈骗"), _("群众满意度")]


def overdue_header() -> list[str]:
    return [_("案件编号"), _("标题"), _("分类"), _("处置部门"), _("所在网格"), _("当前状态"), _("上报时间"), _("首次超期")]


OVERDUE_KEYS = ("number", "title", "category", "department", "area", "status", "reported", "overdue_at")


def summary_lines(report: Report) -> list[str]:
    fig = report.figures
    c = fig.counts
    lines = [
        _("本月上报 %(n)d 件，立案 %(filed)d 件，已结案 %(closed)d 件，本月内超期 %(overdue)d 件。") % {
            "n": report.intake_total, "filed": c.get("filed", 0), "closed": c.get("closed", 0),
            "overdue": report.overdue_total},
        _("综合得分：%(score)s。") % {"score": "—" if report.score is None else f"{report.score}"},
    ]
    if report.own_rank is not None and report.own_rank.rank is not None:
        lines.append(_("在全部%(level)s中排名第 %(rank)d（共 %(total)d 个），上月第 %(prev)s，变化 %(change)s。") % {
            "level": report.area.level.name, "rank": report.own_rank.rank, "total": report.own_rank_total,
            "prev": report.own_rank.previous_rank or "—", "change": _change(report.own_rank)})
    return lines


# --------------------------------------------------------------------------- xlsx


def to_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="EEF1F6")

    def sheet(title: str, header: list[str], rows: list[list], widths: list[int] | None = None):
        ws = wb.create_sheet(re.sub(r"[\[\]:*?/\\]", "·", title)[:31])
        ws.append(header)
        for cell in ws[1]:
            cell.font, cell.fill = bold, head_fill
        for row in rows:
            ws.append(row)
        for i, width in enumerate(widths or [], 1):
            ws.column_dimensions[ws.cell(1, i).column_letter].width = width
        ws.freeze_panes = "A2"
        return ws

    def bar(ws, title: str, value_col: int, label_col: int, rows: int, anchor: str, *, horizontal: bool = False):
        if rows == 0:
            return
        chart = BarChart()
        chart.type = "bar" if horizontal else "col"
        chart.title = title
        chart.legend = None
        chart.height, chart.width = max(7.5, 0.6 * rows + 3) if horizontal else 7.5, 16
        chart.add_data(Reference(ws, min_col=value_col, min_row=1, max_row=rows + 1), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=label_col, min_row=2, max_row=rows + 1))
        if horizontal:
            chart.y_axis.scaling.min = 0
            chart.x_axis.scaling.orientation = "maxMin"  # the first row on top
        ws.add_chart(chart, anchor)

    overview = wb.active
    overview.title = _("概况")
    overview.append([report.title])
    overview["A1"].font = Font(bold=True, size=14)
    overview.append([_("区域"), report.area.name])
    overview.append([_("月份"), report.month.strftime("%Y-%m")])
    overview.append([_("生成时间"), report.generated_at.strftime("%Y-%m-%d %H:%M")])
    overview.append([])
    for line in summary_lines(report):
        overview.append([line])
    overview.column_dimensions["A"].width = 16
    overview.column_dimensions["B"].width = 40
    overview["A1"].alignment = Alignment(wrap_text=False)

    ws = sheet(_("受理来源"), [_("来源"), _("件数")], [[label, n] for label, n in report.by_source], [18, 10])
    bar(ws, _("本月受理（按来源）"), 2, 1, len(report.by_source), "D2")
    ws = sheet(_("分类大类"), [_("大类编码"), _("大类"), _("件数")],
               [[code, name, n] for code, name, n in report.by_class], [10, 20, 10])
    bar(ws, _("本月受理（按分类大类）"), 3, 2, min(len(report.by_class), 20), "E2", horizontal=True)
    sheet(_("指标"), [_("指标"), _("分子"), _("分母"), _("比率 %")], indicator_rows(report), [14, 10, 10, 10])
    ws = sheet(_("排名") + f"（{report.ranking_level_name}）", ranking_header(), ranking_rows(report),
               [6, 18, 8, 9, 7, 9, 9, 9, 8])
    bar(ws, _("综合得分"), 3, 2, len(report.ranking), "K2", horizontal=True)
    sheet(_("超期案件"), overdue_header(), [[r[k] for k in OVERDUE_KEYS] for r in report.overdue],
          [22, 30, 14, 14, 12, 12, 17, 17])
    if report.safety is not None:
        sheet(_("平安等级"), safety_header(), safety_rows(report), [12, 18, 12, 9, 9, 9, 9, 11])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- PDF


def to_pdf(report: Report) -> bytes:
    from gongzhi.core import pdf

    doc = pdf.Document(report.title, subtitle=_("共治网格化治理平台 · %(area)s") % {"area": report.area.name},
                       generated_at=report.generated_at)
    doc.heading(_("一、概况"))
    for line in summary_lines(report):
        doc.paragraph(line)

    doc.heading(_("二、受理情况"))
    doc.table([[_("来源"), _("件数")], *[[label, n] for label, n in report.by_source],
               [_("合计"), report.intake_total]], widths=[0.6, 0.4], align_right=[1])
    doc.bar_chart([label for label, _n in report.by_source], [n for _l, n in report.by_source],
                  title=_("本月受理（按来源）"))
    if report.by_class:
        top = report.by_class[:15]
        doc.table([[_("大类编码"), _("大类"), _("件数")], *[[code, name, n] for code, name, n in report.by_class]],
                  widths=[0.2, 0.5, 0.3], align_right=[2])
        doc.bar_chart([name for _c, name, _n in top], [n for _c, _name, n in top], title=_("本月受理（按分类大类）"),
                      horizontal=True)

    doc.heading(_("三、考核指标"))
    doc.table([[_("指标"), _("分子"), _("分母"), _("比率 %")], *indicator_rows(report)],
              widths=[0.4, 0.2, 0.2, 0.2], align_right=[1, 2, 3])
    rates = list(report.figures.rates.values())
    doc.bar_chart([r.label for r in rates], [_pct(r.percent) for r in rates], title=_("各项指标（%）"),
                  horizontal=True, value_format="{:.2f}", max_value=100)

    doc.heading(_("四、%(level)s排名（与上月比较）") % {"level": report.ranking_level_name})
    rows = ranking_rows(report)
    if rows:
        doc.table([ranking_header(), *rows], widths=[0.07, 0.2, 0.09, 0.1, 0.08, 0.12, 0.12, 0.12, 0.1],
                  align_right=[0, 2, 3, 4, 5, 6, 7, 8])
        scored = [r for r in report.ranking if r.score is not None][:30]
        if scored:
            doc.bar_chart([str(r.area.name) for r in scored], [_pct(r.score) for r in scored],
                          title=_("综合得分"), horizontal=True, value_format="{:.2f}", max_value=100)
    else:
        doc.paragraph(_("本月没有可排名的%(level)s。") % {"level": report.ranking_level_name})

    doc.heading(_("五、超期案件"))
    if report.overdue:
        shown = report.overdue[:OVERDUE_ROWS_PDF]
        doc.paragraph(_("本月内超期 %(n)d 件%(more)s。") % {
            "n": report.overdue_total,
            "more": _("，下表列出最早的 %(k)d 件（全部见 xlsx）") % {"k": len(shown)}
            if report.overdue_total > len(shown) else ""})
        keys = ("number", "title", "department", "status", "overdue_at")
        header = [_("案件编号"), _("标题"), _("处置部门"), _("当前状态"), _("首次超期")]
        doc.table([header, *[[r[k] for k in keys] for r in shown]], widths=[0.22, 0.32, 0.16, 0.13, 0.17])
    else:
        doc.paragraph(_("本月没有超期案件。"))

    if report.safety is not None:
        doc.heading(_("六、平安等级"))
        rows = safety_rows(report)
        if rows:
            doc.table([safety_header(), *rows], widths=[0.12, 0.2, 0.14, 0.1, 0.1, 0.1, 0.1, 0.14],
                      align_right=[3, 4, 5, 6, 7])
        else:
            doc.paragraph(_("本月没有已发布的平安等级。"))
    return doc.build()
