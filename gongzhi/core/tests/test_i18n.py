"""English is the second language: every interface string has an English translation."""

from __future__ import annotations

import gettext
import json
import re
from pathlib import Path

import gongzhi

LOCALE = Path(gongzhi.__file__).parent / "locale" / "en" / "LC_MESSAGES"


def parse_po(text: str) -> dict[str, str]:
    """msgid → msgstr (first plural form) of a .po file; enough for this check."""
    result = {}
    for block in text.split("\n\n"):
        if block.lstrip().startswith("#~"):
            continue
        parts = re.split(r"^(msgid|msgid_plural|msgstr(?:\[\d\])?) ", block, flags=re.M)
        fields: dict[str, str] = {}
        for key, value in zip(parts[1::2], parts[2::2], strict=True):
            fields.setdefault(key, "".join(json.loads(line) for line in value.strip().splitlines()))
        if fields.get("msgid"):
            result[fields["msgid"]] = fields.get("msgstr", fields.get("msgstr[0]", ""))
    return result


def test_every_message_has_an_english_translation_and_none_is_fuzzy():
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    catalogue = parse_po(text)
    assert len(catalogue) > 100
    assert [k for k, v in catalogue.items() if not v] == []
    assert "#, fuzzy" not in text


def test_the_compiled_catalogue_matches_the_source():
    with open(LOCALE / "django.mo", "rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    for msgid, msgstr in parse_po((LOCALE / "django.po").read_text(encoding="utf-8")).items():
        if "%(n)" not in msgid:  # plural entries are looked up with ngettext
            assert compiled.gettext(msgid) == msgstr, msgid
