"""Likely duplicates: open cases near a report in space, time and category, ranked by their words.

``find_duplicates(case_or_fields, user=…)`` compares a case (or the fields of a report not yet sent)
with the OPEN cases (``choices.OPEN_STATES``; a merged case is not open) that

- lie within ``CASE_DUPLICATE_RADIUS_M`` metres (default 200; haversine on lon/lat, after a lon/lat
  box in SQL that the partial index ``case_open_latlon`` serves, so a city of a million cases costs
  an index range scan, not a table scan),
- were reported within ``CASE_DUPLICATE_WINDOW_DAYS`` days before or after it (default 7),
- have a related category: the same code (in any directory version), the same major class
  (``major_code``), or either side not yet categorised,

and scores each by text similarity — jieba words plus character bigrams, cosine over the two sets
— weighted by how close it is. A candidate with no word in common scores 0: two reports at the
same spot about different things are not duplicates. Candidates scoring at least
``CASE_DUPLICATE_MIN_SCORE`` are returned best first, with the evidence: the distance in metres,
the time difference, the meaningful shared words (stop words, punctuation, digits and single
characters dropped) and the photos of both.

Who sees what: with ``user`` only cases ``Case.objects.visible_to(user)`` are compared (the command
center's panel, the API). ``user=None`` compares every open case of a public category
(``Case.objects.public()``): the resident's "similar open cases nearby" on the report page, which
must then show public fields only (``public_view``).
"""

from __future__ import annotations

import datetime
import logging
import math
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .choices import OPEN_STATES
from .models import Case, CasePhoto, Category

EARTH_RADIUS_M = 6_371_008.8
#: How many rows the SQL prefilter may hand to the scorer (newest first): a busy crossing in a
#: week has far fewer; this bounds the work if a box is crowded (a flood of device alerts).
MAX_CANDIDATES = 300
#: Text compared per case: a 20,000-character description says nothing more about duplication.
TEXT_LIMIT = 600

#: Words that say nothing about *which* problem it is (function words, and what every complaint
#: says: 问题, 反映, 希望, 处理 …). Single characters are dropped anyway.
STOP_WORDS = frozenset("""
的 了 在 是 我 有 和 就 不 人 都 一 一个 上 也 很 到 说 要 去 你 会 着 没有 看 好 自己 这 那 这里 那里 这个 那个
已经 还是 还有 因为 所以 但是 如果 现在 时候 我们 他们 你们 大家 什么 怎么 为什么 可以 没有人 一些 一下 一直 非常
特别 比较 严重 经常 每天 天天 总是 仍然 依然 目前 今天 昨天 最近 多次 多天 几天 长期 问题 情况 反映 希望 请求 要求
请 尽快 及时 处理 解决 相关 部门 有关 附近 周边 旁边 这边 那边 地方 位置 市民 居民 群众 本人 谢谢 感谢 麻烦 影响
存在 出现 发现 造成 导致 进行 没人管 无人 没人 管理 小区 一带 路段 路口 附近 门口 现象 事情 有人 导致 目前 由于
""".split())
#: "小区 门口 路口" are in the list: without them two reports in the same compound would look alike
#: for that alone; their bigrams still count a little (see ``tokens``).

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORDISH = re.compile(r"^[\w\u3400-\u9fff]+$")
_jieba_lock = threading.Lock()


@lru_cache(maxsize=1)
def _tokenizer():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _jieba_lock:
        jieba.initialize()  # the dictionary ships with the package: nothing is downloaded
    return jieba


def words(text: str) -> list[str]:
    """The meaningful words of ``text`` in order (jieba; no stop words, punctuation, numbers, single
    characters)."""
    text = (text or "")[:TEXT_LIMIT]
    if not text.strip():
        return []
    out = []
    for word in _tokenizer().lcut(text):
        word = word.strip().lower()
        if len(word) < 2 or word in STOP_WORDS or word.isdigit() or not _WORDISH.match(word):
            continue
        out.append(word)
    return out


def bigrams(text: str) -> set[str]:
    """Character bigrams of the runs of Chinese characters (robust to how jieba happened to cut)."""
    grams: set[str] = set()
    for run in _CJK.findall((text or "")[:TEXT_LIMIT]):
        grams.update(run[i:i + 2] for i in range(len(run) - 1))
    return grams


@dataclass(frozen=True)
class Tokens:
    words: frozenset[str]
    grams: frozenset[str]


def tokens(text: str) -> Tokens:
    return Tokens(frozenset(words(text)), frozenset(bigrams(text)))


def _cosine(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def text_similarity(a: Tokens, b: Tokens) -> float:
    """0…1: words and bigrams half each (set cosine). No shared word and no shared bigram: 0."""
    return 0.5 * _cosine(a.words, b.words) + 0.5 * _cosine(a.grams, b.grams)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of a box holding every point within ``radius_m``."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    coslat = max(math.cos(math.radians(lat)), 0.01)  # near a pole the box is just wide
    dlon = min(math.degrees(radius_m / (EARTH_RADIUS_M * coslat)), 180.0)
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


# --------------------------------------------------------------------------- the probe


@dataclass
class Probe:
    """What a case (or a report not yet sent) is compared by."""

    title: str = ""
    description: str = ""
    category: Category | None = None
    lon: float | None = None
    lat: float | None = None
    created_at: datetime.datetime | None = None
    pk: int | None = None
    photos: list = field(default_factory=list)

    @property
    def text(self) -> str:
        return f"{self.title or ''}\n{self.description or ''}"


def _finite(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def probe_of(source) -> Probe:
    """A ``Probe`` from a Case, a Probe, an ``intake.Report`` or a dict of report fields."""
    if isinstance(source, Probe):
        return source
    if isinstance(source, Case):
        return Probe(title=source.title, description=source.description, category=source.category,
                     lon=source.lon, lat=source.lat, created_at=source.created_at, pk=source.pk)
    get = source.get if isinstance(source, dict) else (lambda name, default=None: getattr(source, name, default))
    category = get("category", None)
    return Probe(title=str(get("title", "") or ""), description=str(get("description", "") or ""),
                 category=category if isinstance(category, Category) else None,
                 lon=_finite(get("lon", None)), lat=_finite(get("lat", None)),
                 created_at=get("created_at", None), pk=get("pk", None))


# --------------------------------------------------------------------------- candidates


@dataclass
class Candidate:
    """One likely duplicate and why: the evidence a dispatcher (or a resident) decides on."""

    case: Case
    score: float
    text_score: float
    distance_m: float
    time_delta: datetime.timedelta      # candidate.created_at − probe time (negative: reported before)
    shared_words: list[str]
    category_relation: str              # "same" · "major" · "uncategorised"
    photos: list[CasePhoto] = field(default_factory=list)

    @property
    def hours_apart(self) -> float:
        return abs(self.time_delta.total_seconds()) / 3600

    @property
    def earlier(self) -> bool:
        return self.time_delta.total_seconds() <= 0


def _category_filter(category: Category | None) -> Q:
    """Related categories: same code, same major class, or either side uncategorised."""
    if category is None:
        return Q()
    q = Q(category__isnull=True) | Q(category__code=category.code)
    if category.major_code:
        q |= Q(category__major_code=category.major_code)
    return q


def _relation(probe: Probe, case: Case) -> tuple[str, float]:
    if probe.category is None or case.category is None:
        return "uncategorised", 0.5
    if case.category.code == probe.category.code:
        return "same", 1.0
    return "major", 0.6


def candidates_query(probe: Probe, *, user=None, radius_m: float, window: datetime.timedelta):
    """The SQL prefilter: open, not this case, inside the box and the window, related category."""
    lon_min, lat_min, lon_max, lat_max = bounding_box(probe.lon, probe.lat, radius_m)
    at = probe.created_at or timezone.now()
    qs = Case.objects.visible_to(user) if user is not None else Case.objects.public()
    qs = qs.filter(status__in=OPEN_STATES, master__isnull=True,
                   lat__gte=lat_min, lat__lte=lat_max, lon__gte=lon_min, lon__lte=lon_max,
                   created_at__gte=at - window, created_at__lte=at + window)
    if lon_min < -180 or lon_max > 180:  # the box crosses the antimeridian: not a city's problem
        qs = qs.none()
    qs = qs.filter(_category_filter(probe.category))
    if probe.pk:
        qs = qs.exclude(pk=probe.pk)
    return (qs.select_related("category", "department", "area").defer("area__geometry")
            .order_by("-created_at", "-id"))


def find_duplicates(case_or_report_fields, *, user=None, limit: int = 5, radius_m: float | None = None,
                    window_days: float | None = None, min_score: float | None = None,
                    with_photos: bool = True) -> list[Candidate]:
    """Likely duplicates of a case or of a report's fields, best first (see the module doc).

    A probe without a point, or without any text, has no duplicates (nothing to compare by).
    """
    probe = probe_of(case_or_report_fields)
    if probe.lon is None or probe.lat is None or not (-180 <= probe.lon <= 180 and -90 <= probe.lat <= 90):
        return []
    mine = tokens(probe.text)
    if not mine.words and not mine.grams:
        return []
    radius = float(radius_m if radius_m is not None else settings.CASE_DUPLICATE_RADIUS_M)
    window = datetime.timedelta(days=float(window_days if window_days is not None
                                           else settings.CASE_DUPLICATE_WINDOW_DAYS))
    threshold = float(min_score if min_score is not None else settings.CASE_DUPLICATE_MIN_SCORE)
    at = probe.created_at or timezone.now()
    found: list[Candidate] = []
    for case in candidates_query(probe, user=user, radius_m=radius, window=window)[:MAX_CANDIDATES]:
        distance = haversine_m(probe.lon, probe.lat, case.lon, case.lat)
        if distance > radius:
            continue
        theirs = tokens(f"{case.title}\n{case.description}")
        text = text_similarity(mine, theirs)
        if text <= 0:
            continue
        delta = case.created_at - at
        relation, category_closeness = _relation(probe, case)
        closeness = (0.4 * (1 - distance / radius) if radius else 0.4) + \
            0.3 * max(0.0, 1 - abs(delta.total_seconds()) / max(window.total_seconds(), 1)) + \
            0.3 * category_closeness
        score = text * (0.5 + 0.5 * closeness)
        if score < threshold:
            continue
        shared = [w for w in dict.fromkeys(words(probe.text)) if w in theirs.words]
        found.append(Candidate(case=case, score=round(score, 4), text_score=round(text, 4),
                               distance_m=round(distance, 1), time_delta=delta, shared_words=shared[:12],
                               category_relation=relation))
    found.sort(key=lambda c: (-c.score, c.distance_m))
    found = found[:max(int(limit), 0)]
    if with_photos and found:
        by_case: dict[int, list[CasePhoto]] = {}
        for photo in CasePhoto.objects.filter(case__in=[c.case.pk for c in found]).order_by("uploaded_at", "id"):
            by_case.setdefault(photo.case_id, []).append(photo)
        for candidate in found:
            candidate.photos = by_case.get(candidate.case.pk, [])[:4]
    return found


def public_view(candidate: Candidate) -> dict:
    """What anybody may be shown of an open case nearby: no reporter, no description, no department
    staff — title, category, status, distance, time, public thumbnails (report photos: no EXIF)."""
    case = candidate.case
    return {
        "number": case.number, "title": case.title,
        "category": case.category.name if case.category else "",
        "status": case.status, "status_label": str(case.get_status_display()),
        "distance_m": int(round(candidate.distance_m)), "created_at": case.created_at,
        "hours_apart": round(candidate.hours_apart, 1), "score": candidate.score,
        "shared_words": candidate.shared_words,
        "photos": [p.pk for p in candidate.photos if p.stage == CasePhoto.Stage.REPORT and p.thumbnail][:3],
    }


# --------------------------------------------------------------------------- residents: nearby and follow


def nearby_for(user, fields, *, limit: int = 5) -> list[dict]:
    """The report page's "similar open cases nearby": every public open case counts (``user=None``), shown
    through ``public_view``, marked when the user reported it (``mine``) or follows it already."""
    from .models import CaseFollower

    found = find_duplicates(fields, user=None, limit=limit)
    followed = set()
    if found and getattr(user, "is_authenticated", False):
        followed = set(CaseFollower.objects.filter(user=user, case__in=[c.case.pk for c in found])
                       .values_list("case_id", flat=True))
    rows = []
    for candidate in found:
        row = public_view(candidate)
        row["following"] = candidate.case.pk in followed
        row["mine"] = bool(getattr(user, "pk", None)) and candidate.case.reporter_id == user.pk
        rows.append(row)
    return rows


def followable(user, number: str, lon, lat) -> Case:
    """The case ``user`` may follow: one they see already, or an open located case within the
    duplicate radius of the point they give (one the nearby search can show them). Anything else is
    the same 404 as a case that doesn't exist."""
    from django.http import Http404

    from . import queries

    try:
        return queries.get_case(user, number)
    except Http404:
        pass
    lon, lat = _finite(lon), _finite(lat)
    if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90) or not isinstance(number, str):
        raise Http404
    case = (Case.objects.public().filter(number=number[:32], status__in=OPEN_STATES, lon__isnull=False,
                                         lat__isnull=False).select_related("category").first())
    if case is None or haversine_m(lon, lat, case.lon, case.lat) > settings.CASE_DUPLICATE_RADIUS_M:
        raise Http404
    return case


def public_photo(number: str, photo_id: int, lon: float | None, lat: float | None) -> CasePhoto | None:
    """A report photo of an open case within the duplicate radius of (lon, lat): the thumbnails the
    nearby list shows. Without a point near the case: None (the same 404 as a missing photo)."""
    if lon is None or lat is None:
        return None
    photo = (CasePhoto.objects.filter(pk=photo_id, case__in=Case.objects.public().filter(number=number[:32]),
                                      case__status__in=OPEN_STATES,
                                      case__lon__isnull=False, case__lat__isnull=False,
                                      stage=CasePhoto.Stage.REPORT).exclude(thumbnail="")
             .select_related("case").first())
    if photo is None or haversine_m(lon, lat, photo.case.lon, photo.case.lat) > settings.CASE_DUPLICATE_RADIUS_M:
        return None
    return photo
