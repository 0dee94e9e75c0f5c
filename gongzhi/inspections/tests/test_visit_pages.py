"""The phone visit page: choosing, GET, POST (valid, invalid answers kept with the message at the
question, a bad signature, a bad photo), the result page, photos and signature served with access
checks, who gets 404, and the premises' inspection history."""

from __future__ import annotations

import base64
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gongzhi.core.models import AuditLog
from gongzhi.inspections import services
from gongzhi.inspections.models import Hazard, Notice, Visit, VisitPhoto

pytestmark = pytest.mark.django_db

URL = "/inspections/visit/new/"
TWO_DEPARTMENTS_FAIL = {"a-extinguisher": "no", "a-exits": "yes", "a-licence": "no", "a-staff": "3"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "m")}}}


def png_data_url(size=(300, 120), draw=True) -> str:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    if draw:
        for x in range(20, 200):
            image.putpixel((x, 60 + (x % 7)), (0, 0, 0, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def jpeg(name="shop.jpg") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (30, 120, 200)).save(out, "JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def form_url(scene) -> str:
    return f"{URL}?team={scene.team.pk}&premises={scene.premises.pk}"


def post_data(scene, **extra) -> dict:
    return {"team": scene.team.pk, "premises": scene.premises.pk, "version": scene.version.pk,
            "acknowledged_by": "王老板", **TWO_DEPARTMENTS_FAIL, **extra}


def test_the_form_renders_the_checklist_for_a_team_member(login, world, scene):
    response = login(world.handler).get(form_url(scene))
    assert response.status_code == 200
    html = response.content.decode()
    assert "凤凰便民超市" in html and f'data-checklist="{scene.version.pk}"' in html
    assert 'name="a-extinguisher"' in html and 'capture="environment"' in html
    assert 'id="signature-pad"' in html and "inspections/signature.js" in html and "checklists/form.js" in html
    assert "<script>" not in html  # CSP: no inline script


def test_the_chooser_lists_teams_and_the_communitys_premises(login, world, scene):
    client = login(world.handler)
    first = client.get(URL)  # the only team is chosen; the premises are listed
    assert first.status_code == 200
    html = first.content.decode()
    assert "第一小组" in html and f'<option value="{scene.premises.pk}">凤凰便民超市' in html
    assert client.get(URL + "?q=不存在").status_code == 200


def test_a_valid_visit_is_recorded_with_photo_and_signature(login, world, scene):
    client = login(world.handler)
    response = client.post(URL, {**post_data(scene, signature=png_data_url()), "a-shopfront": jpeg()})
    visit = Visit.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/inspections/visits/{visit.pk}/"
    assert visit.recorded_by == world.handler and visit.acknowledged_by == "王老板"
    assert {n.department for n in visit.notices.all()} == {scene.police, scene.market}
    assert set(visit.hazards.values_list("item_name", flat=True)) == {"extinguisher", "licence"}
    photo = VisitPhoto.objects.get(visit=visit)
    assert visit.answers["shopfront"] == f"photo:{photo.pk}"
    signature = visit.signature.read()
    assert signature.startswith(b"\x89PNG") and Image.open(io.BytesIO(signature)).size == (300, 120)

    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    for notice in visit.notices.all():
        assert notice.number in html and f"/inspections/notices/{notice.pk}.pdf" in html
    assert "灭火器在有效期内" in html and "营业执照亮照经营" in html and "疏散通道畅通" not in html
    assert "已开具 2 份整改通知书" in html
    thumb = client.get(f"/inspections/visits/{visit.pk}/photos/{photo.pk}/thumb.jpg")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    sig = client.get(f"/inspections/visits/{visit.pk}/signature.png")
    assert sig.status_code == 200 and sig["Content-Type"] == "image/png"
    assert b"".join(sig.streaming_content).startswith(b"\x89PNG")


def test_a_clean_visit_issues_no_notice(login, world, scene):
    client = login(world.handler)
    data = post_data(scene, **{"a-extinguisher": "yes", "a-licence": "yes"})
    response = client.post(URL, data, follow=True)
    assert response.status_code == 200 and "检查合格，未发现问题" in response.content.decode()
    assert Visit.objects.count() == 1 and not Notice.objects.exists()


def test_invalid_answers_are_kept_and_the_message_shown_at_the_question(login, world, scene):
    client = login(world.handler)
    data = post_data(scene, **{"a-staff": "600"})
    data.pop("a-exits")
    response = client.post(URL, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "人数应在 0 到 500 之间" in html and "此项必填" in html
    assert 'id="q-exits-error">此项必填' in html
    assert 'value="600"' in html  # the answer kept
    assert 'value="no" checked' in html and 'value="王老板"' in html
    assert not Visit.objects.exists() and not Hazard.objects.exists()


@pytest.mark.parametrize("signature", [
    "data:image/png;base64,AAAA",  # not a PNG
    "data:image/png;base64,!!!not base64!!!",
    "data:image/svg+xml;base64," + base64.b64encode(b"<svg onload=alert(1)>").decode(),
    "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40).decode(),  # truncated
    "x" * 500_000,  # too large
])
def test_a_bad_signature_is_refused_with_a_chinese_message(login, world, scene, signature):
    response = login(world.handler).post(URL, post_data(scene, signature=signature, **{"a-staff": "600"}))
    assert response.status_code == 400
    html = response.content.decode()
    assert "签名图像" in html and 'id="signature-error">签名图像' in html
    assert "人数应在 0 到 500 之间" in html  # the answers' problems are shown at once too
    assert not Visit.objects.exists()


def test_an_empty_canvas_counts_as_no_signature(login, world, scene):
    response = login(world.handler).post(URL, post_data(scene, signature=png_data_url(draw=False)))
    assert response.status_code == 302 and not Visit.objects.get().signature


def test_a_bad_photo_is_refused_at_its_question(login, world, scene):
    bad = SimpleUploadedFile("x.jpg", b"<html><script>alert(1)</script>", content_type="image/jpeg")
    response = login(world.handler).post(URL, {**post_data(scene), "a-shopfront": bad})
    assert response.status_code == 400
    assert 'id="q-shopfront-error">文件不是可识别的照片' in response.content.decode()
    assert not Visit.objects.exists() and not VisitPhoto.objects.exists()


def test_outsiders_get_404_everywhere(login, world, scene):
    visit = services.record_visit(actor=world.handler, team=scene.team, premises=scene.premises,
                                  version=scene.version, answers={"extinguisher": "no", "exits": "yes",
                                                                  "licence": "yes", "staff": 1})
    notice = visit.notices.get()
    client = login(world.outsider)
    assert client.get(form_url(scene)).status_code == 404
    assert client.post(URL, post_data(scene)).status_code == 404
    assert client.get(f"/inspections/visits/{visit.pk}/").status_code == 404
    assert client.get(f"/inspections/visits/{visit.pk}/signature.png").status_code == 404
    assert client.get(f"/inspections/notices/{notice.pk}.pdf").status_code == 404
    assert login(world.resident).get(URL).status_code == 403
    assert login(world.resident).get(f"/inspections/notices/{notice.pk}.pdf").status_code == 404
    assert Visit.objects.count() == 1
    # whoever covers the premises (the street's dispatcher) sees and may record
    assert login(world.dispatcher).get(f"/inspections/visits/{visit.pk}/").status_code == 200
    assert login(world.dispatcher).get(form_url(scene)).status_code == 200


def test_a_planned_target_preselects_team_premises_and_checklist(login, world, scene):
    from django.utils import timezone

    from gongzhi.inspections.models import Plan, PlanDay, PlanTarget

    plan = Plan.objects.create(team=scene.team, name="周三检查", checklist=scene.version.checklist)
    day = PlanDay.objects.create(plan=plan, date=timezone.localdate())
    target = PlanTarget.objects.create(day=day, premises=scene.premises, reason=PlanTarget.Reason.NEVER)
    client = login(scene.market_officer)
    page = client.get(f"{URL}?target={target.pk}")
    html = page.content.decode()
    assert page.status_code == 200 and f'name="target" value="{target.pk}"' in html
    assert f'name="version" value="{scene.version.pk}"' in html and "凤凰便民超市" in html
    response = client.post(URL, {**post_data(scene), "target": target.pk})
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert visit.recorded_by == scene.market_officer
    target.refresh_from_db()
    assert target.visit == visit  # the plan's target is done (record_visit → plans.mark_visited)
    assert login(world.outsider).get(f"{URL}?target={target.pk}").status_code == 404


def test_the_premises_page_shows_its_inspection_history(login, world, scene):
    visit = services.record_visit(actor=world.handler, team=scene.team, premises=scene.premises,
                                  version=scene.version, answers={"extinguisher": "no", "exits": "yes",
                                                                  "licence": "no", "staff": 1})
    police = visit.notices.get(department=scene.police)
    html = login(world.dispatcher).get(f"/premises/{scene.premises.pk}/").content.decode()
    assert 'id="inspection-history"' in html and f"/inspections/visits/{visit.pk}/" in html
    assert "2 项不合格" in html and "灭火器在有效期内" in html and "待整改" in html
    assert police.number in html and f"/inspections/notices/{police.pk}.pdf" in html
    assert AuditLog.objects.filter(action="inspection.visit.record").count() == 1
