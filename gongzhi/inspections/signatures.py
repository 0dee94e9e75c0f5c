"""The operator's signature, drawn on the phone (static/inspections/signature.js) and sent as a PNG
data URL: size-checked, decoded by Pillow as PNG only, re-encoded (only the pixels are kept) and
returned as a ``ContentFile`` for ``services.record_visit(signature=…)``. Anything else is refused
with a Chinese message."""

from __future__ import annotations

import base64
import binascii
import io
import uuid
import warnings

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image

PREFIX = "data:image/png;base64,"
#: A drawn signature is a few tens of kB; the base64 text may be at most this long.
MAX_CHARS = 400_000
MAX_SIDE = 2400
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def decode(data_url: str | None) -> ContentFile | None:
    """``None`` when nothing was drawn (empty); a re-encoded PNG, or ``ValidationError``."""
    text = (data_url or "").strip()
    if not text:
        return None
    garbage = ValidationError(_("签名图像无法识别，请重新签名"), code="bad_signature")
    if len(text) > MAX_CHARS:
        raise ValidationError(_("签名图像过大，请清除后重新签名"), code="too_large")
    if not text.startswith(PREFIX):
        raise garbage
    try:
        raw = base64.b64decode(text[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise garbage from None
    if not raw.startswith(PNG_MAGIC):
        raise garbage
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=["PNG"])
            width, height = image.size
            if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
                raise garbage
            image.load()
    except ValidationError:
        raise
    except Exception:  # truncated, corrupt, a bomb: whatever a hostile file makes the decoder raise
        raise garbage from None
    rgba = image.convert("RGBA")
    if rgba.getextrema()[3][1] == 0:  # fully transparent: nothing was drawn
        return None
    flat = Image.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    flat.convert("L").save(out, "PNG", optimize=True)
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.png")
