"""Smart dispatch (智能分派): train, activate and use the router (every write is here).

- ``train(target)`` learns from the deployment's own history — closed cases with their final
  category / department, plus dispatcher corrections with a higher weight (a return and
  re-dispatch; a category changed at filing) — or, with too little history, starts cold from the
  category directory. Each model is a new version, evaluated on held-out cases, stored with its
  figures, and activated on request (``activate``).
- ``suggest(case)`` gives the top 3 categories and departments with their confidence and the words
  behind them, logged once per case and model (``Suggestion``), so repeat views are one query.
- ``auto_dispatch_plan`` / ``record_plan`` are intake's hook: file and dispatch a report at once
  when the admin turned it on and the confidence passes the category's threshold.
- Each process keeps the active models in memory and checks which ones are active at most every
  ``STAMP_CHECK_SECONDS``, so a model activated anywhere is used everywhere without a restart.

``gongzhi.router.textmodel`` (the machine-learning core) is imported lazily: scikit-learn costs
a second to import, and most commands never need it.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit, refcache

from .models import CategoryThreshold, RouterModel, RouterSettings, Suggestion, Target

logger = logging.getLogger("gongzhi.router")

TARGETS = (Target.CATEGORY, Target.DEPARTMENT)
#: How often a process asks the database which models are active (the hot swap's delay).
STAMP_CHECK_SECONDS = 2.0
#: Text given to the model per case (a 5,000-character description says it all in its first part).
MAX_TEXT = 3000
#: Most recent examples used for one training (10,000 train in well under a minute on one core).
MAX_EXAMPLES = 30_000
#: Held-out share for the stored evaluation figures (the stored model is trained on the rest), and
#: the least examples to hold any out.
HOLDOUT_EVERY = 5
MIN_EVAL_EXAMPLES = 30
TOP = 3
WORDS = 6

refcache.watch([RouterSettings, CategoryThreshold])


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Config:
    """The settings row and its thresholds, as plain values (cached per process, see core.refcache)."""

    suggestions_enabled: bool = True
    auto_dispatch_enabled: bool = False
    default_threshold: float = 0.9
    thresholds: dict = field(default_factory=dict)

    def threshold(self, category_code: str) -> float:
        return self.thresholds.get(category_code, self.default_threshold)

    def passes(self, category_code: str, probability: float) -> bool:
        """Confident enough to act alone: at or above the category's threshold (1 means never)."""
        threshold = self.threshold(category_code)
        return threshold < 1 and probability >= threshold


def config() -> Config:
    def load() -> Config:
        row = RouterSettings.load()
        return Config(row.suggestions_enabled, row.auto_dispatch_enabled, float(row.default_threshold),
                      {t.category_code: float(t.threshold) for t in row.thresholds.all()})
    return refcache.get("router-config", load)


# --------------------------------------------------------------------------- the active models


_lock = threading.Lock()
_loaded: dict[str, tuple[int, object]] = {}   # target → (model id, TextRouter)
_active_ids: dict[str, int] = {}
_checked_at = 0.0


def forget() -> None:
    """Drop this process's models (activation does it; other processes notice within seconds)."""
    global _checked_at
    with _lock:
        _loaded.clear()
        _active_ids.clear()
        _checked_at = 0.0


def active(target: str, *, recheck: bool = False) -> tuple[int, object] | None:
    """``(model id, TextRouter)`` of the target's active model, or None when there is none."""
    global _checked_at, _active_ids
    now = time.monotonic()
    if recheck or not _checked_at or now - _checked_at >= STAMP_CHECK_SECONDS:
        _active_ids = dict(RouterModel.objects.filter(is_active=True).values_list("target", "pk"))
        _checked_at = now
    model_id = _active_ids.get(target)
    if model_id is None:
        return None
    hit = _loaded.get(target)
    if hit is not None and hit[0] == model_id:
        return hit
    with _lock:
        hit = _loaded.get(target)
        if hit is None or hit[0] != model_id:
            blob = RouterModel.objects.filter(pk=model_id).values_list("blob", flat=True).first()
            if blob is None:
                return None
            from .textmodel import TextRouter

            hit = (model_id, TextRouter.loads(bytes(blob)))
            _loaded[target] = hit
    return hit


# --------------------------------------------------------------------------- labels and texts


def _category(code: str):
    from gongzhi.cases.directory import active_category

    return active_category(code)


def _departments() -> dict[str, object]:
    from gongzhi.orgs.models import Department

    return refcache.get("router-departments", lambda: {d.code: d for d in Department.objects.filter(is_active=True)})


def label_object(target: str, label: str):
    """The active category (by code) or department (by code) a label stands for, or None."""
    return _category(label) if target == Target.CATEGORY else _departments().get(label)


def _join(*parts: str) -> str:
    return "\n".join(p.strip() for p in parts if p and p.strip())[:MAX_TEXT]


def case_text(title: str, description: str = "", hint: str = "") -> str:
    """What the model reads: title, description, and a category name when one is known (for the
    category target the reporter's own choice; for the department target the case's category)."""
    return _join(title or "", description or "", hint or "")


def category_hint(case) -> str:
    """The reporter's category choice, before a dispatcher files the case (later it is the answer)."""
    if case.category_id and case.filed_at is None:
        return case.category.name
    return ""


# --------------------------------------------------------------------------- suggestions


@dataclass
class Suggestions:
    """What the router says about a case: per target, the model id and the top 3 (best first)."""

    enabled: bool = True
    category: list[dict] = field(default_factory=list)
    department: list[dict] = field(default_factory=list)
    models: dict[str, int] = field(default_factory=dict)
    #: targets whose model is not calibrated (the cold start from the directory): its probabilities only
    #: rank the labels, so pages show no percentage for them
    uncalibrated: dict[str, bool] = field(default_factory=dict)

    def top(self, target: str) -> dict | None:
        rows = getattr(self, target)
        return rows[0] if rows else None


def predict(router, target: str, text: str, *, area=None, k: int = TOP) -> list[dict]:
    """The top ``k`` labels that stand for an active category / a department serving the area, with
    their probability and the words behind them."""
    if not text.strip():
        return []
    ranked = router.predict([text], k=max(k, 50) if target == Target.DEPARTMENT else k + 5)[0]
    serving = _serving(area) if target == Target.DEPARTMENT and area is not None else None
    rows = []
    for label, probability in ranked:
        obj = label_object(target, label)
        if obj is None or (serving is not None and obj.pk not in serving):
            continue
        rows.append({"label": label, "id": obj.pk, "name": obj.name, "p": round(float(probability), 4),
                     "words": [str(w) for w in router.explain(text, label, n=WORDS)]})
        if len(rows) == k:
            break
    return rows


def _serving(area) -> set[int] | None:
    """Departments that serve the area or an area above it, plus those that serve no area at all
    (city-wide); None when no department is tied to an area (then nothing is filtered)."""
    from gongzhi.orgs.models import Department

    def load():
        ids = [*area.ancestor_ids(), area.pk]
        tied = set(Department.objects.filter(areas__isnull=False).values_list("pk", flat=True))
        if not tied:
            return None
        near = set(Department.objects.filter(areas__in=ids).values_list("pk", flat=True))
        return near | (set(_departments_ids()) - tied)
    return refcache.get(("router-serving", area.pk), load)


def _departments_ids() -> list[int]:
    return [d.pk for d in _departments().values()]


def _compute(case, target: str, router, *, category_name: str = "") -> list[dict]:
    if target == Target.CATEGORY:
        text = case_text(case.title, case.description, category_hint(case))
    else:
        text = case_text(case.title, case.description, category_name)
    return predict(router, target, text, area=case.area if case.area_id else None)


def suggest(case, *, log: bool = True) -> Suggestions:
    """Top-3 categories and departments for a case, logged once per case and model. A case seen
    before with the same models is answered from the log (one query)."""
    result = Suggestions(enabled=config().suggestions_enabled)
    if not result.enabled:
        return result
    routers = {target: active(target) for target in TARGETS}
    routers = {t: r for t, r in routers.items() if r is not None}
    if not routers:
        return result
    logged = {s.target: s for s in Suggestion.objects.filter(case=case, model_id__in=[r[0] for r in routers.values()])}
    for target in TARGETS:
        if target not in routers:
            continue
        model_id, router = routers[target]
        result.models[target] = model_id
        result.uncalibrated[target] = not router.info.get("calibrated", False)
        if target in logged:
            setattr(result, target, logged[target].top)
            continue
        if target == Target.DEPARTMENT:
            name = case.category.name if case.category_id else ""
            if not name and result.category:
                name = result.category[0]["name"]
            rows = _compute(case, target, router, category_name=name)
        else:
            rows = _compute(case, target, router)
        setattr(result, target, rows)
        if log and rows and case.pk:
            _log(case, target, model_id, rows)
    if result.department and case.return_count:
        returned = returned_by(case)
        result.department = [row for row in result.department if row["id"] not in returned]
    return result


def returned_by(case) -> set[int]:
    """Departments that returned this case (a return follows their dispatch): not suggested again."""
    found, last = set(), None
    for action, department_id in case.events.filter(action__in=("dispatch", "return")).order_by("at", "id") \
            .values_list("action", "department_id"):
        if action == "dispatch":
            last = department_id
        elif last is not None:
            found.add(last)
    return found


def _log(case, target: str, model_id: int, rows: list[dict], *, auto: bool = False) -> None:
    labels = [r["label"] for r in rows] + ["", "", ""]
    row = Suggestion(case=case, target=target, model_id=model_id, top=rows, label1=labels[0], label2=labels[1],
                     label3=labels[2], p1=rows[0]["p"] if rows else 0, auto_dispatched=auto,
                     reported_category=case.category.code if case.category_id and case.filed_at is None else "")
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        pass  # another request logged it first: the same answer


def suggest_text(title: str, description: str = "", *, category_name: str = "") -> Suggestions:
    """Suggestions for a text that is not a case (nothing logged): the API's preview."""
    result = Suggestions(enabled=config().suggestions_enabled)
    for target in TARGETS:
        hit = active(target)
        if hit is None:
            continue
        result.models[target] = hit[0]
        hint = category_name
        if target == Target.DEPARTMENT and not hint and result.category:
            hint = result.category[0]["name"]
        setattr(result, target, predict(hit[1], target, case_text(title, description, hint)))
    return result


# --------------------------------------------------------------------------- auto-dispatch at intake


@dataclass
class AutoPlan:
    """What intake does with a report the router is sure about (see ``auto_dispatch_plan``)."""

    category: object
    department: object
    probability: float
    rows: dict[str, tuple[int, list[dict]]]

    @property
    def note(self) -> str:
        return _("按智能分派自动派遣（置信度 %(p).2f）") % {"p": self.probability}


def auto_dispatch_plan(case) -> AutoPlan | None:
    """For a new report (not yet saved) with no rule-resolved department: the category (given, or
    suggested above its threshold) and the department the router suggests above the category's
    threshold — or None. Never for an unlocated report (outside the city is refused earlier)."""
    settings = config()
    if not settings.auto_dispatch_enabled or case.area_id is None:
        return None
    try:
        return _plan(case, settings)
    except Exception:  # noqa: BLE001 - a model problem must never refuse a report
        logger.exception("router: auto-dispatch plan failed; the report waits for a dispatcher")
        return None


def _plan(case, settings: Config) -> AutoPlan | None:
    rows: dict[str, tuple[int, list[dict]]] = {}
    category = case.category
    if category is None:
        hit = active(Target.CATEGORY)
        if hit is None:
            return None
        top = _compute(case, Target.CATEGORY, hit[1])
        if not top:
            return None
        rows[Target.CATEGORY] = (hit[0], top)
        category = _category(top[0]["label"])
        if category is None or not settings.passes(category.code, top[0]["p"]):
            return None
    hit = active(Target.DEPARTMENT)
    if hit is None:
        return None
    top = _compute(case, Target.DEPARTMENT, hit[1], category_name=category.name)
    if not top:
        return None
    rows[Target.DEPARTMENT] = (hit[0], top)
    department = _departments().get(top[0]["label"])
    probability = top[0]["p"]
    if department is None or not settings.passes(category.code, probability):
        return None
    return AutoPlan(category, department, probability, rows)


def record_plan(case, plan: AutoPlan) -> None:
    """Log the suggestions an auto-dispatch acted on (inside intake's transaction, after the INSERT)."""
    for target, (model_id, top) in plan.rows.items():
        row = Suggestion(case=case, target=target, model_id=model_id, top=top, auto_dispatched=True,
                         label1=top[0]["label"], label2=top[1]["label"] if len(top) > 1 else "",
                         label3=top[2]["label"] if len(top) > 2 else "", p1=top[0]["p"])
        row.save(force_insert=True)


# --------------------------------------------------------------------------- accepting a suggestion


def accept(case, *, actor, category=None, department, note: str = ""):
    """按建议立案并派遣: file (when the case is still a report) and dispatch, through the closed loop's
    own transitions, in one transaction: both happen or neither."""
    from gongzhi.cases import services as case_services
    from gongzhi.cases.choices import Status

    with transaction.atomic():
        if case.status == Status.REPORTED:
            case = case_services.file_case(case, actor=actor, category=category, note=note)
        return case_services.dispatch_case(case, actor=actor, department=department,
                                           note=note or _("按智能分派建议派遣"))


# --------------------------------------------------------------------------- training data


@dataclass
class Example:
    text: str
    label: str
    weight: float
    at: object  # datetime
    correction: bool = False


def _last_dispatch(field_name: str):
    from gongzhi.cases.models import CaseEvent

    return Subquery(CaseEvent.objects.filter(case=OuterRef("pk"), action="dispatch")
                    .order_by("-at", "-id").values(field_name)[:1])


def history_examples(target: str, *, since=None, correction_weight: float = 3.0,
                     limit: int = MAX_EXAMPLES) -> list[Example]:
    """Labelled examples from the deployment's cases, newest first (at most ``limit``).

    category: closed cases → their final category; a case whose category was changed at filing
    (the reporter's choice, recorded with the suggestion, differs) is a correction.
    department: closed cases → the department of their last dispatch; a case returned and
    dispatched again → the new department, as a correction, open or closed.
    """
    from gongzhi.cases.choices import Status
    from gongzhi.cases.models import Case, CaseEvent

    cases = Case.objects.all()
    if since is not None:
        cases = cases.filter(created_at__gte=since)
    examples: list[Example] = []
    if target == Target.CATEGORY:
        reported = dict(Suggestion.objects.filter(target=Target.CATEGORY).exclude(reported_category="")
                        .values_list("case_id", "reported_category"))
        changed_ids = {pk for pk, code in Case.objects.filter(pk__in=list(reported), category__isnull=False,
                                                                  filed_at__isnull=False)
                       .values_list("pk", "category__code") if reported[pk] != code}
        rows = (cases.filter(category__isnull=False)
                .filter(Q(status=Status.CLOSED) | Q(pk__in=changed_ids))
                .order_by("-created_at").values_list("pk", "title", "description", "category__code", "created_at")
                [:limit])
        names = {}
        for pk, title, description, code, at in rows:
            hint = ""
            if pk in reported:
                if reported[pk] not in names:
                    obj = _category(reported[pk])
                    names[reported[pk]] = obj.name if obj else ""
                hint = names[reported[pk]]
            correction = pk in changed_ids
            examples.append(Example(case_text(title, description, hint), code,
                                    correction_weight if correction else 1.0, at, correction))
        return examples
    last_return = Subquery(CaseEvent.objects.filter(case=OuterRef("pk"), action="return")
                           .order_by("-at", "-id").values("at")[:1])
    rows = (cases.filter(Q(status=Status.CLOSED) | Q(return_count__gt=0))
            .annotate(final_department=_last_dispatch("department__code"), last_dispatch_at=_last_dispatch("at"),
                      last_return_at=last_return)
            .filter(final_department__isnull=False)
            .order_by("-created_at")
            .values_list("title", "description", "category__name", "final_department", "status",
                         "last_dispatch_at", "last_return_at", "created_at")[:limit])
    for title, description, category_name, department, status, dispatched, returned, at in rows:
        correction = returned is not None and dispatched is not None and dispatched > returned
        if not correction and status != Status.CLOSED:
            continue  # returned and not yet dispatched again: no answer yet
        examples.append(Example(case_text(title, description, category_name or ""), department,
                                correction_weight if correction else 1.0, at, correction))
    return examples


def directory_examples(target: str) -> list[tuple[str, str]]:
    """Cold start: (label, text) pairs from the active category directory — names, major names,
    keywords (admins add synonyms there); for departments, the texts of the categories each one
    takes by default or by a routing rule."""
    from gongzhi.cases.directory import active_version
    from gongzhi.cases.models import Category

    version = active_version()
    if version is None:
        return []
    categories = list(Category.objects.filter(version=version, is_active=True)
                      .select_related("default_department").order_by("code"))
    texts = {c.pk: " ".join(x for x in (c.name, c.major_name, c.keywords) if x) for c in categories}
    if target == Target.CATEGORY:
        return [(c.code, texts[c.pk]) for c in categories]
    return sorted((code, texts[category_id]) for code, category_id in _departments_categories(categories))


def _departments_categories(categories: list) -> set[tuple[str, int]]:
    """(department code, category id) for each active category an active department takes, by default
    or by a routing rule."""
    from gongzhi.cases.models import RoutingRule

    pairs = {(c.default_department.code, c.pk) for c in categories
             if c.default_department_id and c.default_department.is_active}
    pairs |= set(RoutingRule.objects.filter(category__in=categories, department__is_active=True)
                 .values_list("department__code", "category_id"))
    return pairs


def label_names(target: str) -> dict[str, str | list[str]]:
    """label → its name, or its phrases, for the model's label-name feature (textmodel ``_Names``,
    each label scored by its best-matching phrase): a category's code → its name in the active
    directory and its keywords (the synonyms an admin adds, space-separated); a department's code →
    its name and the names of the categories it takes (by default or by a routing rule), as the cold
    start reads them — a report naming 机动车乱停放 then favours the department that takes it."""
    from gongzhi.cases.directory import active_version
    from gongzhi.cases.models import Category
    from gongzhi.orgs.models import Department

    version = active_version()
    categories = list(Category.objects.filter(version=version).select_related("default_department")) if version else []
    if target == Target.CATEGORY:
        return {c.code: [c.name, *c.keywords.split()] if c.keywords.strip() else c.name for c in categories}
    names: dict[str, str | list[str]] = dict(Department.objects.values_list("code", "name"))
    by_pk = {c.pk: c.name for c in categories}
    for code, category_id in sorted(_departments_categories([c for c in categories if c.is_active])):
        if code in names:
            names[code] = [*([names[code]] if isinstance(names[code], str) else names[code]), by_pk[category_id]]
    return names


# --------------------------------------------------------------------------- evaluation


def fit_evaluated(make_router, texts: list[str], labels: list[str], weights: list[float],
                  corrections: list[bool] | None = None, names: dict[str, str] | None = None) -> tuple[object, dict]:
    """Fit once and measure the very model that will be used: every ``HOLDOUT_EVERY``-th ordinary
    example of each label (labels with two or more) is held out, the model is trained on the rest
    (corrections always stay in training), and accuracy, macro-F1 and top-3 are measured on the
    held-out part. With too few examples the model is trained on all of them and ``{}`` returned.
    One fit instead of two: training time is what limits how much history a retraining can use."""
    corrections = corrections or [False] * len(texts)
    test: list[int] = []
    train = list(range(len(texts)))
    if len(texts) >= MIN_EVAL_EXAMPLES and len(set(labels)) >= 2:
        order = list(range(len(texts)))
        random.Random(0).shuffle(order)
        seen: Counter = Counter()
        counts = Counter(labels)
        test, train = [], []
        for i in order:
            label = labels[i]
            if not corrections[i]:
                seen[label] += 1
            held = not corrections[i] and counts[label] >= 2 and seen[label] % HOLDOUT_EVERY == 0
            (test if held else train).append(i)
        if len({labels[i] for i in train}) < 2:
            test, train = [], list(range(len(texts)))
    router = make_router().fit([texts[i] for i in train], [labels[i] for i in train],
                               weights=[weights[i] for i in train], names=names)
    if not test:
        return router, {}
    started = time.perf_counter()
    ranked = router.predict([texts[i] for i in test], k=TOP)
    latency = (time.perf_counter() - started) / len(test)
    figures = score([labels[i] for i in test], [[label for label, _p in row] for row in ranked])
    figures.update(held_out=len(test), trained_on=len(train), predict_ms=round(latency * 1000, 3))
    return router, figures


def score(truth: list[str], ranked: list[list[str]]) -> dict:
    """accuracy, top-3 and macro-F1 (over the labels in ``truth``) of ranked predictions."""
    if not truth:
        return {}
    tp: Counter = Counter()
    fp: Counter = Counter()
    fn: Counter = Counter()
    top3 = 0
    for true, row in zip(truth, ranked, strict=True):
        best = row[0] if row else None
        if best == true:
            tp[true] += 1
        else:
            fn[true] += 1
            if best is not None:
                fp[best] += 1
        top3 += true in row[:TOP]
    f1s = []
    for label in set(truth):
        precision = tp[label] / (tp[label] + fp[label]) if tp[label] + fp[label] else 0.0
        recall = tp[label] / (tp[label] + fn[label]) if tp[label] + fn[label] else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return {"accuracy": round(sum(tp.values()) / len(truth), 4), "top3": round(top3 / len(truth), 4),
            "macro_f1": round(sum(f1s) / len(f1s), 4)}


# --------------------------------------------------------------------------- training


@dataclass
class Trained:
    model: RouterModel | None
    message: str
    activated: bool = False


def _fingerprint(labels: list[str], texts: list[str], weights: list[float]) -> str:
    digest = hashlib.sha256()
    for label, text, weight in zip(labels, texts, weights, strict=True):
        digest.update(f"{label}\x1f{weight}\x1f{text}\x1e".encode())
    return digest.hexdigest()[:16]


def train(target: str, *, actor=None, activate: bool | None = False, now=None) -> Trained:
    """Train a new version for ``target`` from the history (or cold-start from the directory when the
    history has fewer than ``min_examples``), evaluate it, store it; activate it when asked.

    ``activate=None`` is the schedule's choice: activate when there is no active model, or when the
    settings say so — but a cold-start model never replaces one trained on the history. Nothing new
    is stored when the training data is the same as the active model's."""
    from .textmodel import TextRouter

    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}")
    row = RouterSettings.load()
    now = now or timezone.now()
    since = now - timedelta(days=row.history_days)
    examples = history_examples(target, since=since, correction_weight=float(row.correction_weight))
    started = time.perf_counter()
    if len(examples) >= row.min_examples and len({e.label for e in examples}) >= 2:
        source = RouterModel.Source.HISTORY
        texts, labels = [e.text for e in examples], [e.label for e in examples]
        weights = [e.weight for e in examples]
        fingerprint = _fingerprint(labels, texts, weights)
        current = RouterModel.objects.filter(target=target, is_active=True).only("metrics").first()
        if current is not None and current.metrics.get("fingerprint") == fingerprint:
            return Trained(None, _("训练数据没有变化，未生成新版本"))
        router, metrics = fit_evaluated(TextRouter, texts, labels, weights, [e.correction for e in examples],
                                        names=label_names(target))
        stamps = [e.at for e in examples]
        data_from, data_to = min(stamps), max(stamps)
        corrections = sum(e.correction for e in examples)
    else:
        source = RouterModel.Source.DIRECTORY
        pairs = directory_examples(target)
        if len({label for label, _text in pairs}) < 1:
            return Trained(None, _("分类目录中没有可用的分类或部门，无法冷启动"))
        fingerprint = _fingerprint([p[0] for p in pairs], [p[1] for p in pairs], [1.0] * len(pairs))
        current = RouterModel.objects.filter(target=target, is_active=True).only("metrics").first()
        if current is not None and current.metrics.get("fingerprint") == fingerprint:
            return Trained(None, _("训练数据没有变化，未生成新版本"))
        router = TextRouter.from_directory(pairs)
        # How the directory alone does on the labelled history there is (if any).
        metrics = score([e.label for e in examples[:2000]],
                        [[label for label, _p in r] for r in router.predict([e.text for e in examples[:2000]], k=TOP)]
                        ) if examples else {}
        if metrics:
            metrics["held_out"] = min(len(examples), 2000)
        texts, labels = [p[1] for p in pairs], [p[0] for p in pairs]
        data_from = data_to = None
        corrections = 0
    seconds = time.perf_counter() - started
    metrics = {**metrics, "fingerprint": fingerprint, "examples": len(texts)}
    blob = router.dumps()
    with transaction.atomic():
        version = (RouterModel.objects.filter(target=target).aggregate(v=Max("version"))["v"] or 0) + 1
        model = RouterModel.objects.create(
            target=target, version=version, created_at=now, source=source, examples=len(texts),
            corrections=corrections, labels=len(set(labels)), data_from=data_from, data_to=data_to,
            metrics=metrics, train_seconds=round(seconds, 2), blob=blob)
        audit.record(actor, "router.train", model, after=_snapshot(model))
        RouterSettings.objects.filter(pk=1).update(last_train_at=now)
        activated = False
        if activate is None:
            active_row = RouterModel.objects.filter(target=target, is_active=True).first()
            activate = active_row is None or (row.auto_activate and not (
                source == RouterModel.Source.DIRECTORY and active_row.source == RouterModel.Source.HISTORY))
        if activate:
            activate_model(model, actor=actor)
            activated = True
    return Trained(model, _("已训练 %(model)s：%(n)d 个样本") % {"model": model, "n": len(texts)}, activated)


def _snapshot(model: RouterModel) -> dict:
    return audit.snapshot(model, fields=["target", "version", "source", "examples", "corrections", "labels",
                                         "metrics", "is_active"])


def activate_model(model: RouterModel, *, actor=None) -> RouterModel:
    """Make ``model`` the one its target uses (the previous one stays, inactive, for the record)."""
    with transaction.atomic():
        before = RouterModel.objects.select_for_update().filter(target=model.target, is_active=True).first()
        if before is not None and before.pk == model.pk:
            return model
        if before is not None:
            RouterModel.objects.filter(pk=before.pk).update(is_active=False)
        model.is_active, model.activated_at = True, timezone.now()
        RouterModel.objects.filter(pk=model.pk).update(is_active=True, activated_at=model.activated_at)
        audit.record(actor, "router.activate", model, before={"active": str(before) if before else None},
                     after={"active": str(model)})
        forget()  # this process (and this transaction) uses it from now on
        transaction.on_commit(forget)  # and after the commit, in case another thread reloaded the old one
    return model


def train_all(*, actor=None, activate: bool | None = False, targets=TARGETS) -> list[Trained]:
    return [train(target, actor=actor, activate=activate) for target in targets]


# --------------------------------------------------------------------------- the schedule


def claim_retrain(now=None) -> bool:
    """The worker's claim on a scheduled training: one conditional UPDATE of ``next_train_at`` that
    repeats the value read, so of two workers passing at once only one trains."""
    now = now or timezone.now()
    row = RouterSettings.load()
    due = row.next_train_at
    if due is not None and due > now:
        return False
    return _claim(due, now + timedelta(hours=row.retrain_hours))


def _claim(read_value, next_at) -> bool:
    rows = RouterSettings.objects.filter(pk=1)
    rows = rows.filter(next_train_at__isnull=True) if read_value is None else rows.filter(next_train_at=read_value)
    return rows.update(next_train_at=next_at) == 1


def retrain_job(now=None) -> str | None:
    """The worker's periodic job: when the schedule is due and this worker wins the claim, queue the
    training (it runs in the task worker, not in the sweeper's thread)."""
    if not claim_retrain(now):
        return None
    from . import tasks

    tasks.retrain.enqueue()
    return "router: retraining queued"


def scheduled_retrain() -> dict:
    """What the queued task does: train every target, activating as ``train(activate=None)`` says."""
    done = {}
    for target in TARGETS:
        try:
            result = train(target, activate=None)
        except Exception:  # one target failing must not keep the other from training
            logger.exception("router: training %s failed", target)
            done[str(target)] = "failed"
            continue
        done[str(target)] = str(result.model) if result.model else "unchanged"
    return done


def ensure_active(*, actor=None) -> list[Trained]:
    """Train and activate a model for every target that has none (the demo; a fresh deployment)."""
    have = set(RouterModel.objects.filter(is_active=True).values_list("target", flat=True))
    return [train(target, actor=actor, activate=True) for target in TARGETS if target not in have]


def status_rows() -> list[dict]:
    """Per target: the active model and its figures (the command's ``status``)."""
    rows = []
    for target in TARGETS:
        model = RouterModel.objects.filter(target=target, is_active=True).defer("blob").first()
        total = RouterModel.objects.filter(target=target).count()
        rows.append({"target": target, "model": model, "versions": total})
    return rows


def threshold_for(code: str) -> Decimal:
    return Decimal(str(config().threshold(code)))


__all__ = ["accept", "activate_model", "active", "auto_dispatch_plan", "config", "forget", "record_plan",
           "retrain_job", "suggest", "suggest_text", "train", "train_all"]
