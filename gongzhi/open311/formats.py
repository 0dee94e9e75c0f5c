"""Open311's two formats from one structure (the spec's "Spark convention"): XML with the spec's
element names, and JSON where the root element disappears and a list becomes a bare array.

XML is built with ``xml.etree.ElementTree`` (never by string concatenation), UTF-8 with the
declaration, no namespace; characters XML 1.0 does not allow (control characters, lone
surrogates, U+FFFE/U+FFFF) are dropped from every text, so a case written with a stray control
character can't break a client's parser. Datetimes are ISO 8601 in the city's time zone
(``+08:00`` for Asia/Shanghai); booleans are ``true``/``false``.
"""

from __future__ import annotations

import datetime
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
#: A list's element name → the name of each of its items.
ITEM_NAMES = {
    "service_requests": "request",
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_request_updates": "request_update",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}
#: Anything XML 1.0 does not allow (https://www.w3.org/TR/xml/#charsets).
ILLEGAL_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    return ILLEGAL_XML.sub("", text)


def moment(value: datetime.datetime | None) -> str | None:
    """``2026-11-23T08:15:00+08:00`` (seconds, the city's offset), or None."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


def _scalar(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return moment(value)
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return moment(value) or ""
    return xml_safe(str(value))


def _element(name: str, value: Any) -> ET.Element:
    element = ET.Element(name)
    if isinstance(value, dict):
        for key, child in value.items():
            element.append(_element(key, child))
    elif isinstance(value, list | tuple):
        item = ITEM_NAMES.get(name, "item")
        for child in value:
            element.append(_element(item, child))
    else:
        element.text = _text(value)
    return element


def to_xml(root: str, data: Any) -> bytes:
    """``data`` (a list for the list resources, a dict for discovery and a service definition) as
    an XML document whose root element is ``root``."""
    tree = _element(root, data)
    return ET.tostring(tree, encoding="utf-8", xml_declaration=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return _scalar(value)


def to_json(data: Any) -> bytes:
    # "replace": a lone surrogate (never valid UTF-8) can't make the answer fail
    return json.dumps(_jsonable(data), ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


def respond(fmt: str, root: str, data: Any, *, status: int = 200) -> HttpResponse:
    body = to_xml(root, data) if fmt == "xml" else to_json(data)
    response = HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])
    response["Access-Control-Allow-Origin"] = "*"  # a public, keyless read API (and keyed writes)
    return response


def errors(fmt: str, status: int, problems: list[tuple[Any, str]]) -> HttpResponse:
    """The spec's error list: ``[{code, description}]`` / ``<errors><error>…``."""
    return respond(fmt, "errors", [{"code": code, "description": str(text)} for code, text in problems],
                   status=status)
