"""Fixtures for smart dispatch: a small directory with departments in street A, helpers that make
closed and corrected cases, and the router's per-process caches emptied around each test.

If the machine-learning core (``gongzhi.router.textmodel``) is not importable, a tiny stand-in with
the same interface is put in its place for these tests only.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
import types
from collections import Counter, defaultdict

import pytest
from django.utils import timezone


def _standin_module() -> types.ModuleType:  # pragma: no cover - only without the real core
    def grams(text: str) -> list[str]:
        chars = [c for c in (text or "") if not c.isspace()]
        return chars + [a + b for a, b in zip(chars, chars[1:], strict=False)]

    class TextRouter:
        def __init__(self):
            self.counts, self.totals, self.prior = {}, {}, {}

        def fit(self, texts, labels, weights=None):
            weights = weights or [1.0] * len(texts)
            counts, prior = defaultdict(Counter), Counter()
            for text, label, w in zip(texts, labels, weights, strict=True):
                prior[label] += w
                for g in grams(text):
                    counts[label][g] += w
            self.counts = {k: dict(v) for k, v in counts.items()}
            self.totals = {k: sum(v.values()) for k, v in counts.items()}
            self.prior = dict(prior)
            return self

        def _scores(self, text):
            vocab = len({g for c in self.counts.values() for g in c}) + 1
            out = {}
            for label, c in self.counts.items():
                s = math.log(self.prior[label])
                for g in grams(text):
                    s += math.log((c.get(g, 0) + 0.1) / (self.totals[label] + 0.1 * vocab))
                out[label] = s
            top = max(out.values())
            z = sum(math.exp(v - top) for v in out.values())
            return {k: math.exp(v - top) / z for k, v in out.items()}

        def predict(self, texts, k=3):
            return [sorted(self._scores(t).items(), key=lambda kv: -kv[1])[:k] for t in texts]

        def explain(self, text, label, n=6):
            c = self.counts.get(label, {})
            return [g for g, _ in sorted(((g, c.get(g, 0)) for g in set(grams(text)) if len(g) == 2),
                                         key=lambda kv: -kv[1]) if _ > 0][:n]

        def dumps(self):
            return json.dumps([self.counts, self.totals, self.prior]).encode()

        @classmethod
        def loads(cls, data):
            router = cls()
            router.counts, router.totals, router.prior = json.loads(bytes(data).decode())
            return router

        @classmethod
        def from_directory(cls, pairs):
            return cls().fit([t for _l, t in pairs], [label for label, _t in pairs])

    module = types.ModuleType("gongzhi.router.textmodel")
    module.TextRouter = TextRouter
    module.normalize = lambda text: text
    return module


try:
    importlib.import_module("gongzhi.router.textmodel")
except ImportError:  # pragma: no cover
    sys.modules["gongzhi.router.textmodel"] = _standin_module()


@pytest.fixture(autouse=True)
def _fresh_router():
    from gongzhi.router import services

    services.forget()
    yield
    services.forget()


@pytest.fixture
def routerdir(world):
    """An active directory of five categories, three departments in street A with defaults."""
    from gongzhi.cases.models import Category, DirectoryVersion
    from gongzhi.orgs import services as org_services

    DirectoryVersion.objects.filter(is_active=True).update(is_active=False)
    version = DirectoryVersion.objects.create(name="智能分派测试目录", is_active=True)
    enforcement = org_services.create_department(actor=None, name="东街道综合执法队", code="enf-a", kind="enforcement",
                                                 areas=[world.street_a], home_area=world.street_a)
    office = org_services.create_department(actor=None, name="东街道办事处", code="office-a", kind="street_office",
                                            areas=[world.street_a], home_area=world.street_a)
    specs = [
        ("06010", "暴露垃圾", "市容环境", "垃圾 堆放 垃圾袋 生活垃圾 乱倒", enforcement),
        ("06042", "垃圾站（箱）满溢", "市容环境", "垃圾箱 垃圾桶 满溢 清运", office),
        ("09009", "机动车乱停放", "街面秩序", "违停 停车 占道停车 汽车", world.police_a),
        ("06028", "噪声扰民", "市容环境", "噪音 吵闹 施工噪声 夜间", world.police_a),
        ("06013", "道路破损", "设施管理", "路面 坑洼 井盖 地砖", office),
    ]
    categories = {}
    for code, name, major, keywords, department in specs:
        categories[code] = Category.objects.create(version=version, code=code, name=name, kind=Category.Kind.MATTER,
                                                   major_name=major, keywords=keywords, default_department=department)
    return {"version": version, "categories": categories, "enforcement": enforcement, "office": office,
            "police": world.police_a}


@pytest.fixture
def make_closed(world):
    """``make_closed(title, category, department)``: a closed case in grid A1 whose last dispatch
    went to ``department`` (rows written directly: the history a deployment already has)."""
    from gongzhi.cases.models import Case, CaseEvent

    counter = {"n": 0}

    def make(title, category, department, *, description=""):
        counter["n"] += 1
        now = timezone.now()
        case = Case.objects.create(
            number=f"T-{counter['n']:05d}", title=title, description=description, category=category,
            status="closed", area=world.grid_a1, area_path=world.grid_a1.path, lon=100.05, lat=30.05,
            department=department, filed_at=now, dispatched_at=now, closed_at=now)
        CaseEvent.objects.create(case=case, action="dispatch", department=department, from_status="filed",
                                 to_status="dispatched")
        return case

    return make


def report(world, title, *, category=None, reporter=None, description="", located=True):
    from gongzhi.cases import intake

    return intake.report_case(intake.Report(
        title=title, description=description, category=category, lon=100.05 if located else None,
        lat=30.05 if located else None, address="" if located else "东街道某小区门口"),
        reporter=reporter or world.resident)[0]
