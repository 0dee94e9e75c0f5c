"""整改通知书 PDF: the text (read back with pypdf) holds the department, the number, the premises,
the items with their answer, legal basis and severity, the deadline in working days, the operator's
acknowledgement and signature; who may download it."""

from __future__ import annotations

import base64
import datetime
import io
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from pypdf import PdfReader

from gongzhi.inspections import notice_pdf, services, signatures

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "m")}}}


def signature_file():
    image = Image.new("RGBA", (200, 80), (0, 0, 0, 0))
    for x in range(10, 190):
        image.putpixel((x, 40), (0, 0, 0, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return signatures.decode("data:image/png;base64," + base64.b64encode(out.getvalue()).decode())


@pytest.fixture
def visit(world, scene):
    scene.premises.address = "东一路 8 号"
    scene.premises.operator_name = "王老板"
    scene.premises.save(update_fields=["address", "operator_name"])
    return services.record_visit(
        actor=world.handler, team=scene.team, premises=scene.premises, version=scene.version,
        answers={"extinguisher": "no", "exits": "no", "licence": "no", "staff": 2},
        finished_at=datetime.datetime(2026, 9, 30, 9, tzinfo=SHANGHAI), acknowledged_by="王老板",
        signature=signature_file())


def text_of(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "".join(page.extract_text() for page in reader.pages).replace(" ", "").replace("\n", "")


def test_the_police_notice_lists_its_items_deadline_and_acknowledgement(visit, scene):
    notice = visit.notices.get(department=scene.police)
    data = notice_pdf.build(notice)
    assert data.startswith(b"%PDF")
    text = text_of(data)
    for expected in ("整改通知书", "东派出所〔2026〕第0001号", "发文单位：东派出所", "凤凰便民超市", "东一路8号",
                     "王老板", "2026年9月30日", "灭火器在有效期内", "疏散通道畅通", "《中华人民共和国消防法》第十六条",
                     "《中华人民共和国消防法》第二十八条", "较大", "重大",
                     # National Day: 3 working days from 30 September is Saturday 10 October (调休)
                     "整改期限：2026年10月10日（3个工作日）", "2026年10月8日（1个工作日）", "第一小组"):
        assert expected in text, expected
    assert "营业执照亮照经营" not in text  # the market's item is on the market's notice
    assert len(PdfReader(io.BytesIO(data)).pages[0].images) == 1  # the signature


def test_the_market_notice_has_only_its_item(visit, scene):
    text = text_of(notice_pdf.build(visit.notices.get(department=scene.market)))
    assert "东市场监管所〔2026〕第0001号" in text and "营业执照亮照经营" in text
    assert "《市场主体登记管理条例》第三十六条" in text and "2026年10月8日" in text
    assert "灭火器在有效期内" not in text


def test_who_may_download_a_notice(login, world, scene, visit):
    police = visit.notices.get(department=scene.police)
    market = visit.notices.get(department=scene.market)
    url = f"/inspections/notices/{police.pk}.pdf"
    response = login(world.handler).get(url)  # a team member (and staff of the police station)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and "东派出所〔2026〕第0001号" in text_of(response.content)
    assert login(scene.second_officer).get(url).status_code == 200  # staff of the issuing department
    assert login(scene.market_officer).get(url).status_code == 200  # a member of the visiting team
    assert login(world.worker).get(url).status_code == 200  # covers the premises' grid
    assert login(scene.market_officer).get(f"/inspections/notices/{market.pk}.pdf").status_code == 200
    assert login(world.outsider).get(url).status_code == 404
    assert login(world.resident).get(url).status_code == 404
    assert login(world.outsider).get("/inspections/notices/999999.pdf").status_code == 404
    assert login(world.handler).get("/inspections/notices/99999999999999999999.pdf").status_code == 404
