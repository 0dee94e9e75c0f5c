"""Photos: content sniffed, EXIF (GPS) gone from every stored copy, limits enforced."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gongzhi.cases import intake, photos

pytestmark = pytest.mark.django_db


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (120, 80), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (39.0, 40.0, 12.0), 3: "E", 4: (106.0, 49.0, 1.0)}  # GPSInfo
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_every_stored_copy_is_a_clean_jpeg(world, directory, tmp_path, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    raw = jpeg_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif().get(0x8825)
    case, _ = intake.report_case(intake.Report(title="x", lon=100.05, lat=30.05, photos=[
        SimpleUploadedFile("p.png", raw, content_type="image/png")]), reporter=world.resident)
    photo = case.photos.get()
    for field in (photo.image, photo.public, photo.thumbnail):
        with field.open("rb") as fh:
            stored = Image.open(io.BytesIO(fh.read()))
        assert stored.format == "JPEG"
        assert not stored.getexif(), field.name
    assert (photo.width, photo.height) == (120, 80)


@pytest.mark.parametrize("content", [b"GIF89a" + b"\x00" * 20, b"<html><script>alert(1)</script>", b"", b"\xff\xd8\xff"])
def test_what_is_not_a_photo_is_refused(content):
    with pytest.raises(ValidationError):
        photos.check_upload(SimpleUploadedFile("a.jpg", content, content_type="image/jpeg"))


def test_size_and_count_limits(world, settings):
    settings.CASE_PHOTO_MAX_BYTES = 1000
    big = SimpleUploadedFile("a.jpg", jpeg_with_gps() + b"\x00" * 2000, content_type="image/jpeg")
    with pytest.raises(ValidationError):
        photos.check_upload(big)
    settings.CASE_PHOTO_MAX_COUNT = 1
    with pytest.raises(ValidationError):
        photos.check_uploads([big, big])


def test_a_failed_report_leaves_no_photo_files(world, directory, tmp_path, settings, monkeypatch):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    from gongzhi.cases.models import Case, CasePhoto

    real_save, calls = CasePhoto.save, []

    def second_fails(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(CasePhoto, "save", second_fails)
    uploads = [SimpleUploadedFile(f"p{i}.jpg", jpeg_with_gps(), content_type="image/jpeg") for i in range(2)]
    with pytest.raises(RuntimeError):
        intake.report_case(intake.Report(title="x", lon=100.05, lat=30.05, photos=uploads), reporter=world.resident)
    assert not Case.objects.exists() and not CasePhoto.objects.exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # the first photo's three files went too
