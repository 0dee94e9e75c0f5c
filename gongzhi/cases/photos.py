"""Photos: content sniffed (never trusted from the name or the Content-Type), size- and
pixel-limited, re-encoded as JPEG; the public copy carries no EXIF (so no GPS position of a
reporter's home); a thumbnail for lists. Served only as re-encoded JPEG (``photo_response``).

What an upload must pass, in order (docs/security.md#uploads), before anything is stored:

1. at most ``CASE_PHOTO_MAX_BYTES`` (and at most ``CASE_PHOTO_MAX_COUNT`` files per request);
2. recognised by its bytes as JPEG, PNG or WebP — only those decoders are tried, so SVG, HTML,
   PDF, EPS (Ghostscript) and the rest are never even parsed;
3. no web content inside (``<script``, ``<!DOCTYPE``, ``<iframe`` …): a polyglot, an image that is
   a page at once, is refused too;
4. at most ``MAX_PIXELS`` and ``MAX_SIDE`` by its header, before it is decoded (decompression
   bombs: a small file announcing a huge image);
5. decodes completely.

Then it is re-encoded: nothing of the uploaded bytes but the pixels is kept.
"""

from __future__ import annotations

import contextvars
import io
import logging
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from .models import CasePhoto

logger = logging.getLogger("gongzhi.cases.photos")

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "MPO")  # MPO: phone JPEGs with a second frame
MAX_PIXELS = 40_000_000  # a 40-megapixel phone photo
MAX_SIDE = 16_384
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own guard, for any other decoding in the process
#: Byte strings no photo needs and every web page, SVG or script has (lower case; long enough that
#: compressed image data does not contain them by chance).
ACTIVE_MARKERS = (b"<script", b"<!doctype", b"<iframe", b"<object", b"<embed", b"javascript:",
                  b"http://www.w3.org/2000/svg", b"<foreignobject")
JPEG_MAGIC = b"\xff\xd8\xff"


def encode_jpeg(image: Image.Image, *, max_side: int, quality: int) -> bytes:
    copy = image.copy()
    copy.thumbnail((max_side, max_side))
    # Pillow writes a JPEG comment (COM) from ``info`` unless told otherwise, and ``info`` still holds
    # the upload's: drop it all, so only the pixels are kept (no exif=, icc_profile=, xmp= either).
    copy.info = {}
    out = io.BytesIO()
    copy.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def _read(upload, limit: int) -> bytes:
    upload.seek(0)
    data = upload.read(limit + 1)
    upload.seek(0)
    return data


def check_upload(upload) -> Image.Image:
    """Open an upload as an image or raise ValidationError in the user's language."""
    limit = settings.CASE_PHOTO_MAX_BYTES
    too_big = _("照片不能超过 %(mb)d MB") % {"mb": limit // (1024 * 1024)}
    if upload.size is not None and upload.size > limit:
        raise ValidationError(too_big, code="too_large")
    data = _read(upload, limit)
    if len(data) > limit:
        raise ValidationError(too_big, code="too_large")
    not_a_photo = _("文件不是可识别的照片")
    too_many_pixels = ValidationError(_("照片尺寸过大（不能超过 %(mp)d 百万像素，每边不超过 %(side)d 像素）")
                                      % {"mp": MAX_PIXELS // 1_000_000, "side": MAX_SIDE}, code="too_many_pixels")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused just below
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError:  # Pillow's own guard, at twice MAX_PIXELS
        raise too_many_pixels from None
    except Exception:  # UnidentifiedImageError, and whatever a hostile header makes a parser raise
        raise ValidationError(not_a_photo, code="not_a_photo") from None
    lowered = data.lower()
    if any(marker in lowered for marker in ACTIVE_MARKERS):  # an image that is also a page (polyglot)
        raise ValidationError(_("文件中含有网页或脚本内容，不是照片"), code="active_content")
    width, height = image.size
    if width < 1 or height < 1 or width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise too_many_pixels
    try:
        image.load()
        image = ImageOps.exif_transpose(image)  # keep the photo upright once EXIF is gone
        return image.convert("RGB")
    except Exception:  # truncated or corrupt data; DecompressionBombError; decoder errors of any kind
        raise ValidationError(not_a_photo, code="not_a_photo") from None


def save_photo(case, upload, *, stage: str, actor=None, event=None) -> CasePhoto:
    image = check_upload(upload)
    name = uuid.uuid4().hex  # never the uploaded name
    photo = CasePhoto(case=case, stage=stage, uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
                      event=event, width=image.width, height=image.height)
    # The original is re-encoded too (no active content survives), kept private with its EXIF dropped
    # as well: the position that matters is the case's own, stored in fields.
    write_jpeg(photo.image, f"{name}.jpg", image, max_side=4096, quality=90)
    write_jpeg(photo.public, f"{name}-public.jpg", image, max_side=1600, quality=82)
    write_jpeg(photo.thumbnail, f"{name}-thumb.jpg", image, max_side=320, quality=75)
    photo.save()
    return photo


def write_jpeg(field, name: str, image: Image.Image, *, max_side: int, quality: int) -> None:
    """Store ``image`` (from ``check_upload``) re-encoded as a JPEG in a model's file field — only the
    pixels, no EXIF or comment. Inside ``removed_on_error()`` the file is deleted again if the block
    fails. For any model with photos (cases, premises …)."""
    save_file(field, name, ContentFile(encode_jpeg(image, max_side=max_side, quality=quality)))


def save_file(field, name: str, content) -> None:
    """Store ``content`` (a File) in a model's file field; the row itself is not saved. Inside
    ``removed_on_error()`` the file is deleted again if the block fails (attachments, receipts …)."""
    field.save(name, content, save=False)
    written = _written.get()
    if written is not None:
        written.append((field.storage, field.name))


_written: contextvars.ContextVar[list | None] = contextvars.ContextVar("case_photo_files", default=None)


@contextmanager
def removed_on_error() -> Iterator[None]:
    """Files saved inside the block (``write_jpeg``, ``save_file``) are deleted again if it raises.

    Files are not part of the database transaction: wrap ``transaction.atomic()`` in this, so a
    rolled-back report or transition leaves no orphaned photo files behind.
    """
    written: list = []
    token = _written.set(written)
    try:
        yield
    except BaseException:
        for storage, name in written:
            try:
                storage.delete(name)
            except Exception:  # noqa: BLE001 - cleaning up after a failure must not hide the failure
                logger.warning("could not delete orphaned file %s", name, exc_info=True)
        raise
    finally:
        _written.reset(token)


def check_uploads(uploads) -> None:
    """Validate every upload before anything is written, so a bad photo loses nothing."""
    if len(uploads) > settings.CASE_PHOTO_MAX_COUNT:
        raise ValidationError(_("最多上传 %(n)d 张照片") % {"n": settings.CASE_PHOTO_MAX_COUNT}, code="too_many")
    for upload in uploads:
        check_upload(upload)


def photo_response(field) -> FileResponse:
    """Serve a stored photo copy: only our own re-encoded JPEGs, never anything a browser could run.

    The file must be named ``.jpg`` by us and start with the JPEG signature; it goes out as
    ``image/jpeg`` with ``nosniff``, ``Content-Disposition: inline``, and a
    sandboxing CSP of its own (should a browser ever render it as a document, nothing runs).
    Anything else answers 404 and is logged: it can only be a file placed in the storage by hand.
    """
    name = getattr(field, "name", "") or ""
    if not name.lower().endswith(".jpg"):
        logger.error("refusing to serve %r: not one of our JPEG copies", name)
        raise Http404
    try:
        handle = field.open("rb")
    except (OSError, ValueError):
        raise Http404 from None
    head = handle.read(len(JPEG_MAGIC))
    if head != JPEG_MAGIC:
        handle.close()
        logger.error("refusing to serve %r: content is not JPEG", name)
        raise Http404
    handle.seek(0)
    response = FileResponse(handle, content_type="image/jpeg")
    response["Content-Disposition"] = "inline"  # shown, never offered as a download of an active type
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, max-age=3600"
    return response
