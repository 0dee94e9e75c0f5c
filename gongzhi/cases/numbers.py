"""Readable case numbers: district code + date + sequence, e.g. 150302-20261123-0042."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .models import CaseSequence

CITYWIDE = "000000"


def district_code(area) -> str:
    """The 6-digit code of the case's district (the first 6 digits of its grid code), or 000000."""
    if area is None:
        return CITYWIDE
    code = area.code or ""
    if len(code) >= 6 and code[:6].isdigit():
        return code[:6]
    for ancestor in area.ancestors().exclude(code__isnull=True).order_by("-depth"):
        if len(ancestor.code) >= 6 and ancestor.code[:6].isdigit():
            return ancestor.code[:6]
    return CITYWIDE


def next_number(area) -> str:
    """Take the next number for the area's district today. Safe under concurrency: the counter row
    is incremented in the database (UPDATE … SET last = last + 1) inside the caller's transaction."""
    prefix = f"{district_code(area)}-{timezone.localdate():%Y%m%d}"
    for _attempt in range(3):
        if CaseSequence.objects.filter(prefix=prefix).update(last=F("last") + 1):
            break
        try:
            with transaction.atomic():
                CaseSequence.objects.create(prefix=prefix, last=1)
            break
        except IntegrityError:
            continue  # another request created it first: increment that one
    last = CaseSequence.objects.filter(prefix=prefix).values_list("last", flat=True).get()
    return f"{prefix}-{last:04d}"
