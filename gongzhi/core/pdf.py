"""PDF documents with Chinese text: monthly reports now, notices and certificates later.

reportlab's built-in CID font ``STSong-Light`` (Adobe's Song for simplified Chinese) needs no font
file: the PDF names it and every reader brings its own copy, so nothing is downloaded or shipped.
Latin letters and digits are drawn by it as well (proportional, a little wide).

    from gongzhi.core import pdf

    doc = pdf.Document(title="东街道 2026年11月 月报", subtitle="共治网格化治理平台")
    doc.heading("一、受理情况")
    doc.paragraph("本月共受理 1,234 件。")
    doc.table([["来源", "件数"], ["12345 热线", 800]], widths=[0.7, 0.3])
    doc.bar_chart(["A", "B"], [3, 5], title="按来源")
    data: bytes = doc.build()

Every page carries the title in the header and "第 n 页 / 共 m 页" plus the generation time in the
footer. Tables repeat their header row on a new page and wrap long Chinese text.
"""

from __future__ import annotations

import datetime
import functools
import io
from collections.abc import Sequence

from django.utils.translation import gettext as _
from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    KeepTogether,
    LongTable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

FONT = "STSong-Light"
BRAND = colors.HexColor("#b3261e")
GRID = colors.HexColor("#c9ced6")
HEAD_BG = colors.HexColor("#eef1f6")
BAR = colors.HexColor("#1f5fbf")
MARGIN = 16 * mm


@functools.cache
def register_font() -> str:
    """Register the CJK font once per process; returns its name."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


@functools.cache
def styles() -> dict[str, ParagraphStyle]:
    font = register_font()
    base = ParagraphStyle("body", fontName=font, fontSize=10, leading=15, wordWrap="CJK")
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=11),
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=26, alignment=TA_CENTER,
                                spaceAfter=4 * mm),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=10, leading=14, alignment=TA_CENTER,
                                   textColor=colors.HexColor("#5d6676"), spaceAfter=6 * mm),
        "h1": ParagraphStyle("h1", parent=base, fontSize=13, leading=18, spaceBefore=5 * mm, spaceAfter=2 * mm,
                             textColor=BRAND),
        "h2": ParagraphStyle("h2", parent=base, fontSize=11, leading=15, spaceBefore=3 * mm, spaceAfter=1.5 * mm),
    }


def escape(text) -> str:
    """Text for a Paragraph (which reads a small XML markup)."""
    return (str(text if text is not None else "").replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;"))


class Document:
    """A report, a notice, a certificate: flowables added in order, then ``build()`` → PDF bytes."""

    def __init__(self, title: str, *, subtitle: str = "", author: str = "共治 Gongzhi", landscape_pages: bool = False,
                 generated_at: datetime.datetime | None = None):
        register_font()
        self.title = title
        self.subtitle = subtitle
        self.author = author
        self.pagesize = landscape(A4) if landscape_pages else A4
        self.generated_at = generated_at
        self.story: list[Flowable] = [Paragraph(escape(title), styles()["title"])]
        if subtitle:
            self.story.append(Paragraph(escape(subtitle), styles()["subtitle"]))

    @property
    def width(self) -> float:
        """The width between the margins, in points."""
        return self.pagesize[0] - 2 * MARGIN

    # -- content

    def heading(self, text: str, level: int = 1) -> None:
        self.story.append(Paragraph(escape(text), styles()["h1" if level == 1 else "h2"]))

    def paragraph(self, text: str, style: str = "body") -> None:
        self.story.append(Paragraph(escape(text), styles()[style]))

    def spacer(self, height_mm: float = 4) -> None:
        self.story.append(Spacer(1, height_mm * mm))

    def page_break(self) -> None:
        self.story.append(PageBreak())

    def add(self, flowable: Flowable) -> None:
        self.story.append(flowable)

    def table(self, rows: Sequence[Sequence], *, widths: Sequence[float] | None = None, header_rows: int = 1,
              align_right: Sequence[int] = (), highlight: dict[int, str] | None = None) -> None:
        """A table; ``rows[0]`` is the header (repeated on every page). ``widths``: fractions of the
        page width; ``align_right``: column numbers drawn right-aligned (figures); ``highlight``:
        row number → background colour (e.g. the street itself in a ranking)."""
        self.story.append(table(rows, width=self.width, widths=widths, header_rows=header_rows,
                                align_right=align_right, highlight=highlight))

    def bar_chart(self, labels: Sequence[str], values: Sequence[float | int | None], *, title: str = "",
                  horizontal: bool | None = None, value_format: str = "{:g}", height_mm: float | None = None,
                  max_value: float | None = None) -> None:
        self.story.append(KeepTogether([bar_chart(labels, values, width=self.width, title=title,
                                                  horizontal=horizontal, value_format=value_format,
                                                  height_mm=height_mm, max_value=max_value)]))

    # -- output

    def _decorate(self, canvas, doc) -> None:
        """Header and footer of every page (the page count comes from ``_NumberedCanvas``)."""
        canvas.saveState()
        width, height = self.pagesize
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.HexColor("#5d6676"))
        canvas.drawString(MARGIN, height - 10 * mm, self.title)
        canvas.drawRightString(width - MARGIN, height - 10 * mm, self.author)
        canvas.setStrokeColor(GRID)
        canvas.line(MARGIN, height - 11.5 * mm, width - MARGIN, height - 11.5 * mm)
        canvas.line(MARGIN, 12 * mm, width - MARGIN, 12 * mm)
        if self.generated_at is not None:
            canvas.drawString(MARGIN, 8 * mm, _("生成时间 %(at)s") % {"at": f"{self.generated_at:%Y-%m-%d %H:%M}"})
        canvas.restoreState()

    def build(self) -> bytes:
        out = io.BytesIO()
        doc = SimpleDocTemplate(out, pagesize=self.pagesize, leftMargin=MARGIN, rightMargin=MARGIN,
                                topMargin=MARGIN, bottomMargin=MARGIN, title=self.title, author=self.author,
                                subject=self.subtitle, creator="Gongzhi")
        doc.build(list(self.story), onFirstPage=self._decorate, onLaterPages=self._decorate,
                  canvasmaker=_NumberedCanvas)
        return out.getvalue()


def _canvas_class():
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        """Draws "第 n 页 / 共 m 页" once the number of pages is known (saved pages are replayed)."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                width = self._pagesize[0]
                self.setFont(FONT, 8)
                self.setFillColor(colors.HexColor("#5d6676"))
                self.drawRightString(width - MARGIN, 8 * mm,
                                     _("第 %(page)d 页 / 共 %(total)d 页") % {"page": self._pageNumber, "total": total})
                super().showPage()
            super().save()

    return NumberedCanvas


_NumberedCanvas = _canvas_class()


def table(rows: Sequence[Sequence], *, width: float, widths: Sequence[float] | None = None, header_rows: int = 1,
          align_right: Sequence[int] = (), highlight: dict[int, str] | None = None) -> LongTable:
    """A styled table that wraps Chinese text in its cells and repeats the header on every page."""
    st = styles()
    right = ParagraphStyle("cell-right", parent=st["cell"], alignment=2)

    def cell(value, r: int, col: int):
        if isinstance(value, Flowable):
            return value
        return Paragraph(escape(_cell(value)), right if r >= header_rows and col in align_right else st["cell"])

    cells = [[cell(v, r, col) for col, v in enumerate(row)] for r, row in enumerate(rows)]
    columns = max((len(r) for r in rows), default=1)
    col_widths = [width * w for w in widths] if widths else [width / columns] * columns
    t = LongTable(cells, colWidths=col_widths, repeatRows=header_rows, hAlign="LEFT")
    style = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    if header_rows:
        style.append(("BACKGROUND", (0, 0), (-1, header_rows - 1), HEAD_BG))
    for col in align_right:
        style.append(("ALIGN", (col, header_rows), (col, -1), "RIGHT"))
    for row, colour in (highlight or {}).items():
        style.append(("BACKGROUND", (0, row), (-1, row), colors.HexColor(colour)))
    t.setStyle(TableStyle(style))
    return t


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def bar_chart(labels: Sequence[str], values: Sequence[float | int | None], *, width: float, title: str = "",
              horizontal: bool | None = None, value_format: str = "{:g}", height_mm: float | None = None,
              max_value: float | None = None) -> Drawing:
    """A bar chart as a Drawing (a flowable). Horizontal by default past 8 bars or with long labels,
    so Chinese names stay readable. Missing values (None) are drawn as 0 and labelled "—"."""
    font = register_font()
    labels = [str(label) for label in labels]
    numbers = [float(v) if v is not None else 0.0 for v in values]
    if horizontal is None:
        horizontal = len(labels) > 8 or any(len(label) > 6 for label in labels)
    bars = max(len(labels), 1)
    if height_mm is None:
        height_mm = max(40, 7 * bars + 22) if horizontal else 70
    height = height_mm * mm
    drawing = Drawing(width, height)
    title_room = 14 if title else 0
    chart = HorizontalBarChart() if horizontal else VerticalBarChart()
    label_room = min(max((len(label) for label in labels), default=2) * 9 + 6, width * 0.35) if horizontal else 0
    chart.x = 6 + label_room
    chart.y = 14 if horizontal else 36
    chart.width = width - chart.x - 36
    chart.height = height - chart.y - title_room - 8
    chart.data = [numbers or [0]]
    chart.categoryAxis.categoryNames = labels or [""]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    top = max(numbers, default=0)
    if max_value is not None:
        chart.valueAxis.valueMax = max_value
    elif top <= 0:
        chart.valueAxis.valueMax = 1
    chart.bars[0].fillColor = BAR
    chart.bars[0].strokeColor = None
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = 7
    chart.barLabelFormat = "values"
    chart.barLabelArray = [[value_format.format(float(v)) if v is not None else "—" for v in values] or [""]]
    if horizontal:
        chart.categoryAxis.reverseDirection = True  # the first label on top
        chart.categoryAxis.labels.boxAnchor = "e"
        chart.barLabels.boxAnchor = "w"
        chart.barLabels.dx = 3
    else:
        chart.categoryAxis.labels.angle = 30 if len(labels) > 5 else 0
        chart.categoryAxis.labels.boxAnchor = "ne" if len(labels) > 5 else "n"
        chart.barLabels.boxAnchor = "s"
        chart.barLabels.dy = 2
    drawing.add(chart)
    if title:
        drawing.add(String(width / 2, height - 11, title, fontName=font, fontSize=10, textAnchor="middle"))
    return drawing
