"""core.pdf: Chinese text in, the same text out (pypdf), page numbers, tables across pages, charts."""

from __future__ import annotations

import io

from pypdf import PdfReader

from gongzhi.core import pdf


def text_of(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_chinese_text_tables_and_charts_come_out_as_text():
    doc = pdf.Document("东街道 2026年11月 月报", subtitle="共治网格化治理平台")
    doc.heading("一、受理情况")
    doc.paragraph("本月共受理 1,234 件，<b>不是标记</b> & 符号原样。")
    doc.table([["来源", "件数"], ["12345 热线", 800], ["网格员巡查", 434], ["设备告警", None]], widths=[0.7, 0.3],
              align_right=[1], highlight={1: "#fff4d6"})
    doc.bar_chart(["网格员巡查", "12345 热线", "设备告警"], [434, 800, None], title="按来源")
    data = doc.build()
    assert data.startswith(b"%PDF")
    assert b"STSong-Light" in data  # the CID font, named, not embedded
    pages, text = text_of(data)
    assert pages == 1
    for expected in ("东街道 2026年11月 月报", "一、受理情况", "本月共受理 1,234 件", "<b>不是标记</b> & 符号原样",
                     "12345 热线", "800", "网格员巡查", "按来源", "第 1 页 / 共 1 页"):
        assert expected in text, expected
    assert "—" in text  # a missing value, in the table and on its bar


def test_long_tables_repeat_their_header_and_pages_are_numbered():
    doc = pdf.Document("超期案件清单", landscape_pages=True)
    doc.table([["编号", "标题"], *[[f"150302-20261101-{i:04d}", "路面破损" * 3] for i in range(120)]],
              widths=[0.3, 0.7])
    pages, text = text_of(doc.build())
    assert pages > 1
    assert text.count("编号") == pages  # the header row on every page
    assert f"第 {pages} 页 / 共 {pages} 页" in text
    assert "150302-20261101-0119" in text


def test_a_chart_of_many_long_labels_is_horizontal_and_empty_data_draws():
    labels = [f"第{i}街道办事处" for i in range(12)]
    drawing = pdf.bar_chart(labels, list(range(12)), width=400, title="得分")
    chart = drawing.contents[0]
    assert type(chart).__name__ == "HorizontalBarChart"
    empty = pdf.Document("空")
    empty.bar_chart([], [], title="没有数据")
    assert text_of(empty.build())[0] == 1
