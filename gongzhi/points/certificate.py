"""志愿服务时长证明 as an A4 PDF (``gongzhi.core.pdf``, the STSong-Light CJK font): the resident's
name, the total service hours (a record of honour: never spent, never expired), the confirmed
activities (date, activity, community, hours), the issuing community, the date issued and a
verification code.

The code is an HMAC (the server's secret key) over what the certificate states — the resident, the
total minutes, the awards listed and the date — so it can be recomputed (``verification_code``) and a
changed copy does not match. Each issue is kept as a ``Certificate`` row (what it stated), which the
public page ``/points/verify/`` looks up by code (``find``), and leaves an audit row
``points.certificate`` with the code.

    data, code = certificate.build(user, actor=request.user)
"""

from __future__ import annotations

import re
from collections import Counter

from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from gongzhi.core import audit, pdf

from . import queries
from .models import Certificate


def _date(value) -> str:
    return _("%(y)d年%(m)d月%(d)d日") % {"y": value.year, "m": value.month, "d": value.day}


def decimal_hours(minutes: int) -> str:
    return f"{minutes / 60:.2f}".rstrip("0").rstrip(".")


def verification_code(user, total_minutes: int, award_ids, issued_on) -> str:
    """12 hex digits in three groups; the same inputs always give the same code."""
    content = f"{user.pk}|{total_minutes}|{','.join(str(i) for i in sorted(award_ids))}|{issued_on:%Y-%m-%d}"
    digest = salted_hmac("gongzhi.points.certificate", content).hexdigest()[:12].upper()
    return "-".join(digest[i:i + 4] for i in range(0, 12, 4))


def issuing_community(entries):
    """The community where the resident served most (by minutes); ``None`` without any service."""
    minutes: Counter = Counter()
    areas = {}
    for entry in entries:
        area = entry.transaction.area
        if area is None:
            continue
        areas[area.pk] = area
        minutes[area.pk] += entry.amount
    if not minutes:
        return None
    return queries.community_of(areas[minutes.most_common(1)[0][0]])


def build(user, *, actor, now=None) -> tuple[bytes, str]:
    """The certificate in Chinese whatever the reader's language (an official paper)."""
    with translation.override("zh-hans"):
        return _build(user, actor=actor, now=now or timezone.now())


def _build(user, *, actor, now) -> tuple[bytes, str]:
    entries = queries.certified_awards(user)
    total = queries.minutes_of(user)
    issued_on = timezone.localtime(now).date()
    code = verification_code(user, total, [e.transaction_id for e in entries], issued_on)
    community = issuing_community(entries)
    issuer = community.name if community is not None else _("共治平台")
    name = user.display_name or user.get_username()

    doc = pdf.Document(_("志愿服务时长证明"), subtitle=_("喜邻志愿服务"), author=issuer,
                       generated_at=timezone.localtime(now))
    doc.paragraph(_("兹证明 %(name)s 同志参加志愿服务活动，经组织方确认，累计志愿服务时长 %(hours)s 小时"
                    "（%(minutes)s 分钟）。") % {"name": name, "hours": decimal_hours(total), "minutes": total})
    doc.spacer(2)
    doc.table([
        [_("姓名"), name],
        [_("累计服务时长"), _("%(hours)s 小时") % {"hours": decimal_hours(total)}],
        [_("服务次数"), str(len(entries))],
    ], widths=[0.3, 0.7], header_rows=0)
    doc.heading(_("志愿服务记录"))
    rows = [[_("日期"), _("活动"), _("社区"), _("时长（小时）")]]
    for entry in entries:
        signup = entry.transaction.signup
        activity = signup.activity if signup is not None else None
        when = timezone.localtime(activity.starts_at if activity else entry.transaction.created_at).date()
        rows.append([f"{when:%Y-%m-%d}", activity.title if activity else (entry.transaction.note or "—"),
                     str(activity.area if activity else entry.transaction.area or "—"),
                     decimal_hours(entry.amount)])
    if not entries:
        rows.append(["—", _("暂无经确认的志愿服务记录"), "—", "0"])
    doc.table(rows, widths=[0.18, 0.46, 0.22, 0.14], align_right=[3])
    doc.spacer(8)
    doc.paragraph(_("出具单位：%(issuer)s") % {"issuer": issuer})
    doc.paragraph(_("出具日期：%(date)s") % {"date": _date(issued_on)})
    doc.paragraph(_("验证码：%(code)s") % {"code": code})
    doc.paragraph(_("本证明所列时长均由活动组织方确认，服务时长长期有效。"
                    "验证码可在共治平台「证明核验」页面（/points/verify/）核验。"), "small")
    Certificate.objects.get_or_create(code=code, defaults={
        "resident": user, "minutes": total, "services": len(entries), "issuer": issuer[:100],
        "issued_on": issued_on})
    audit.record(actor, "points.certificate", user, after={"minutes": total, "awards": len(entries)},
                 note=f"code={code}")
    return doc.build(), code


CODE_RE = re.compile(r"^[0-9A-F]{4}-?[0-9A-F]{4}-?[0-9A-F]{4}$")


def find(code: str) -> Certificate | None:
    """The certificate with this verification code (spaces, case and missing dashes forgiven)."""
    code = re.sub(r"\s+", "", code or "").upper()
    if not CODE_RE.match(code):
        return None
    code = code.replace("-", "")
    code = f"{code[:4]}-{code[4:8]}-{code[8:]}"
    return Certificate.objects.select_related("resident").filter(code=code).first()


def masked_name(name: str) -> str:
    """张三 → 张*, 欧阳小明 → 欧**明: enough to compare with the paper, not to learn a name."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
