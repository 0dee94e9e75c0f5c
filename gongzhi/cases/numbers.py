"""Readable case numbers: district code + date + sequence, e.g. 150302-20261123-0042."""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from gongzhi.core import refcache

from .models import CaseSequence

CITYWIDE = "000000"


def district_code(area) -> str:
    """The 6-digit code of the case's district (the first 6 digits of its grid code), or 000000."""
    if area is None:
        return CITYWIDE
    code = area.code or ""
    if len(code) >= 6 and code[:6].isdigit():
        return code[:6]

    def load() -> str:
        for ancestor in area.ancestors().exclude(code__isnull=True).order_by("-depth"):
            if len(ancestor.code) >= 6 and ancestor.code[:6].isdigit():
                return ancestor.code[:6]
        return CITYWIDE
    return refcache.get(("district-code", area.path), load)


def next_number(area) -> str:
    """Take the next number for the area's district today, in one statement (UPDATE … RETURNING):
    unique with or without a transaction. Intake calls it before the transaction that writes the
    case, so the counter row is locked only for that UPDATE (a failed report leaves a gap)."""
    prefix = f"{district_code(area)}-{timezone.localdate():%Y%m%d}"
    table = connection.ops.quote_name(CaseSequence._meta.db_table)
    for _attempt in range(3):
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET last = last + 1 WHERE prefix = %s RETURNING last", [prefix])
            row = cursor.fetchone()
        if row:
            return f"{prefix}-{row[0]:04d}"
        try:
            with transaction.atomic():
                CaseSequence.objects.create(prefix=prefix, last=1)
            return f"{prefix}-0001"
        except IntegrityError:
            continue  # another request created it first: increment that one
    raise RuntimeError(f"could not take a case number for {prefix}")
