"""Photos: content sniffed (never trusted from the name), size-limited, re-encoded as JPEG; the public
copy carries no EXIF (so no GPS position of a reporter's home); a thumbnail for lists."""

from __future__ import annotations

import io
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from .models import CasePhoto

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "HEIF", "MPO"}
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def _encode(image: Image.Image, *, max_side: int, quality: int) -> bytes:
    copy = image.copy()
    copy.thumbnail((max_side, max_side))
    out = io.BytesIO()
    copy.save(out, "JPEG", quality=quality, optimize=True)  # no exif= argument: nothing carried over
    return out.getvalue()


def check_upload(upload) -> Image.Image:
    """Open an upload as an image or raise ValidationError in the user's language."""
    limit = settings.CASE_PHOTO_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(_("照片不能超过 %(mb)d MB") % {"mb": limit // (1024 * 1024)})
    try:
        upload.seek(0)
        image = Image.open(upload)
        if image.format not in ALLOWED_FORMATS:
            raise ValidationError(_("只接受 JPEG、PNG、WebP 照片"))
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError, ValueError):
        raise ValidationError(_("文件不是可识别的照片")) from None
    image = ImageOps.exif_transpose(image)  # keep the photo upright once EXIF is gone
    return image.convert("RGB")


def save_photo(case, upload, *, stage: str, actor=None, event=None) -> CasePhoto:
    image = check_upload(upload)
    name = uuid.uuid4().hex
    photo = CasePhoto(case=case, stage=stage, uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
                      event=event, width=image.width, height=image.height)
    # The original is re-encoded too (no active content survives), kept private with its EXIF dropped
    # as well: the position that matters is the case's own, stored in fields.
    photo.image.save(f"{name}.jpg", ContentFile(_encode(image, max_side=4096, quality=90)), save=False)
    photo.public.save(f"{name}-public.jpg", ContentFile(_encode(image, max_side=1600, quality=82)), save=False)
    photo.thumbnail.save(f"{name}-thumb.jpg", ContentFile(_encode(image, max_side=320, quality=75)), save=False)
    photo.save()
    return photo


def check_uploads(uploads) -> None:
    """Validate every upload before anything is written, so a bad photo loses nothing."""
    if len(uploads) > settings.CASE_PHOTO_MAX_COUNT:
        raise ValidationError(_("最多上传 %(n)d 张照片") % {"n": settings.CASE_PHOTO_MAX_COUNT})
    for upload in uploads:
        check_upload(upload)
