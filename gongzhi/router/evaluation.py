"""Stratified k-fold evaluation of the router (``gongzhi router evaluate``, ``bench/router.py``).

``evaluate`` trains on k-1 folds and scores the held-out fold, k times, and reports accuracy,
macro-F1, per-class precision/recall/F1/support, the confusion matrix, top-3 accuracy, training time
and the latency of one prediction (one text at a time, as the case page asks) — both as wall time
and as the CPU time of the process/thread (the figure that does not depend on what else the machine
is doing). With ``baseline=True`` the plain baseline (TF-IDF over jieba words + character
1–3-grams, LinearSVC C=0.5) is measured on the same folds in the same run.

The label column of an evaluation file holds names (a department's, a category's), so the router is
given them as its labels' names (``TextRouter.fit(..., names=...)``, the label-name feature), as the
deployment gives it its departments' and categories' names; ``label_names=False`` leaves them out.
With a category directory (``read_directory``: a label and its phrases — subcategory names, synonyms,
keywords — per row), each label's name is the list of its value and its directory phrases: the
figures are then "with the directory's phrases", as a deployment whose directory holds them.
"""

from __future__ import annotations

import re
import time
from collections import Counter

import numpy as np

from .textmodel import TextRouter

__all__ = ["BaselineRouter", "EvaluationError", "evaluate", "filter_min_class_size", "read_directory"]

LATENCY_SAMPLE = 300  # held-out texts per fold timed one at a time


class EvaluationError(ValueError):
    """The data cannot be evaluated as asked (too few examples, one class…)."""


class BaselineRouter:
    """The plain baseline: TfidfVectorizer over jieba words + TfidfVectorizer over character
    1–3-grams (scikit-learn defaults otherwise), LinearSVC(C=0.5); ranks by decision score."""

    def fit(self, texts: list[str], labels: list[str], weights=None) -> BaselineRouter:
        import scipy.sparse as sp
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        from .textmodel import _tokenizer

        tk = _tokenizer()
        self.words = TfidfVectorizer(analyzer=tk.lcut)
        self.chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 3))
        x = sp.hstack([self.words.fit_transform(texts), self.chars.fit_transform(texts)]).tocsr()
        self.model = LinearSVC(C=0.5).fit(x, labels)
        self.labels_ = [str(c) for c in self.model.classes_]
        return self

    def scores(self, texts: list[str]) -> np.ndarray:
        import scipy.sparse as sp

        x = sp.hstack([self.words.transform(texts), self.chars.transform(texts)]).tocsr()
        s = self.model.decision_function(x)
        if s.ndim == 1:  # two classes
            s = np.column_stack([-s, s])
        return s

    def predict(self, texts: list[str], k: int = 3) -> list[list[tuple[str, float]]]:
        s = self.scores(texts)
        order = np.argsort(-s, axis=1, kind="stable")[:, :k]
        return [[(self.labels_[j], float(s[i, j])) for j in row] for i, row in enumerate(order)]


def filter_min_class_size(texts: list[str], labels: list[str], n: int) -> tuple[list[str], list[str]]:
    counts = Counter(labels)
    keep = [i for i, lab in enumerate(labels) if counts[lab] >= n]
    return [texts[i] for i in keep], [labels[i] for i in keep]


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else 0.0


def _report(y_true: list[str], ranked: list[list[str]], classes: list[str], train_s: list[float],
            latencies: list[float], train_cpu: list[float], latencies_cpu: list[float]) -> dict:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    y_pred = [r[0] if r else "" for r in ranked]
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=classes, average="macro", zero_division=0)), 4),
        "top3": round(float(np.mean([t in r[:3] for t, r in zip(y_true, ranked, strict=True)])), 4),
        "per_class": {c: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                          "f1": round(float(f[i]), 4), "support": int(s[i])} for i, c in enumerate(classes)},
        "confusion": {"labels": classes,
                      "matrix": confusion_matrix(y_true, y_pred, labels=classes).tolist()},
        "train_seconds": {"mean": round(float(np.mean(train_s)), 3), "max": round(float(np.max(train_s)), 3),
                          "folds": [round(t, 3) for t in train_s]},
        "train_cpu_seconds": {"mean": round(float(np.mean(train_cpu)), 3), "max": round(float(np.max(train_cpu)), 3)},
        "latency_ms": {"p50": round(_percentile(latencies, 50) * 1000, 3),
                       "p99": round(_percentile(latencies, 99) * 1000, 3), "n": len(latencies)},
        "latency_cpu_ms": {"p50": round(_percentile(latencies_cpu, 50) * 1000, 3),
                           "p99": round(_percentile(latencies_cpu, 99) * 1000, 3), "n": len(latencies_cpu)},
    }


def evaluate(texts: list[str], labels: list[str], *, folds: int = 5, seed: int = 0, min_class_size: int = 1,
             model_factory=TextRouter, baseline: bool = False, label_names: bool = True,
             directory: dict[str, list[str]] | None = None) -> dict:
    """Stratified ``folds``-fold cross-validation; see the module docstring. ``directory``: label →
    its phrases (``read_directory``), added to the label's name. Raises EvaluationError when the data
    cannot be split as asked."""
    from sklearn.model_selection import StratifiedKFold

    if len(texts) != len(labels):
        raise EvaluationError("texts and labels differ in length")
    if folds < 2:
        raise EvaluationError("at least 2 folds are needed")
    labels = [str(lab) for lab in labels]
    texts = ["" if t is None else str(t) for t in texts]
    texts, labels = filter_min_class_size(texts, labels, max(1, min_class_size))
    counts = Counter(labels)
    if len(counts) < 2:
        raise EvaluationError(f"at least 2 classes are needed, found {len(counts)} "
                              f"(with at least {min_class_size} examples each)")
    small = sorted((n, c) for c, n in counts.items() if n < folds)
    if small:
        listed = ", ".join(f"{c} ({n})" for n, c in small[:5]) + (" …" if len(small) > 5 else "")
        raise EvaluationError(f"{len(small)} classes have fewer examples than the {folds} folds: {listed}; "
                              f"use --min-class-size {folds} (or more) or fewer folds")
    classes = sorted(counts)
    y = np.array(labels)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = list(splitter.split(np.zeros(len(y)), y))
    rng = np.random.default_rng(seed)
    models = [("router", model_factory)] + ([("baseline", BaselineRouter)] if baseline else [])
    result = {"examples": len(texts), "classes": len(classes), "folds": folds, "seed": seed,
              "min_class_size": min_class_size, "label_names": label_names}
    if directory and label_names:
        result["directory"] = {"labels": sum(1 for c in classes if directory.get(c)),
                               "phrases": sum(len(directory.get(c) or []) for c in classes)}
    for name, factory in models:
        ranked: list[list[str]] = [[] for _ in texts]
        train_s: list[float] = []
        train_cpu: list[float] = []
        latencies: list[float] = []
        latencies_cpu: list[float] = []
        for tr, te in splits:
            train_labels = [labels[i] for i in tr]
            extra = ({"names": {lab: [lab, *(directory or {}).get(lab, [])] for lab in train_labels}}
                     if name == "router" and label_names else {})
            started, started_cpu = time.perf_counter(), time.process_time()
            model = factory().fit([texts[i] for i in tr], train_labels, **extra)
            train_s.append(time.perf_counter() - started)
            train_cpu.append(time.process_time() - started_cpu)
            for i, row in zip(te, model.predict([texts[i] for i in te], k=3), strict=True):
                ranked[i] = [lab for lab, _ in row]
            for i in rng.choice(te, size=min(LATENCY_SAMPLE, len(te)), replace=False):
                started, started_cpu = time.perf_counter(), time.thread_time()
                model.predict([texts[i]], k=3)
                latencies_cpu.append(time.thread_time() - started_cpu)
                latencies.append(time.perf_counter() - started)
        result[name] = _report(labels, ranked, classes, train_s, latencies, train_cpu, latencies_cpu)
    return result


# --------------------------------------------------------------------------- files and printing


def _read_rows(path: str) -> tuple[list[str], list[list[str]]]:
    """(header, rows of strings) of a CSV (UTF-8, with or without BOM; .tsv tab-separated) or of an
    xlsx file's first sheet. EvaluationError on a missing or unreadable file."""
    import csv
    import os

    if not os.path.isfile(path):
        raise EvaluationError(f"no such file: {path}")
    lower = path.lower()
    try:
        if lower.endswith((".xlsx", ".xlsm")):
            from openpyxl import load_workbook

            wb = load_workbook(path, read_only=True, data_only=True)
            rows_iter = wb.worksheets[0].iter_rows(values_only=True)
            header = [("" if h is None else str(h)).strip() for h in next(rows_iter, ())]
            rows = [["" if v is None else str(v) for v in row] for row in rows_iter]
            wb.close()
        elif lower.endswith((".csv", ".txt", ".tsv")):
            with open(path, encoding="utf-8-sig", newline="") as f:
                reader = csv.reader(f, delimiter="\t" if lower.endswith(".tsv") else ",")
                header = [h.strip() for h in next(reader, [])]
                rows = list(reader)
        else:
            raise EvaluationError(f"{path}: use a .csv or .xlsx file")
    except EvaluationError:
        raise
    except UnicodeDecodeError as exc:
        raise EvaluationError(f"{path}: not UTF-8 text ({exc.reason}); save the CSV as UTF-8") from exc
    except Exception as exc:  # openpyxl and csv raise many kinds of errors for damaged files
        raise EvaluationError(f"{path}: cannot read it: {exc}") from exc
    return header, rows


_PHRASE_SEP = re.compile(r"[;；\n]+")


def read_directory(path: str) -> dict[str, list[str]]:
    """A category directory: label → its phrases, from a CSV or xlsx file whose first column holds the
    label (as in the data's label column) and whose other columns hold its phrases — subcategory names,
    synonyms, keywords. A cell is one phrase (a category name may well contain 、 or a comma: 房产证登记、
    办理), or several separated by semicolons or line breaks. Several rows of one label add up (a
    three-level taxonomy: one row per level-3 name). The header row is skipped.
    EvaluationError on an unreadable file or one without a label."""
    _, rows = _read_rows(path)
    out: dict[str, list[str]] = {}
    for row in rows:
        if not row or not (row[0] or "").strip():
            continue
        phrases = out.setdefault(row[0].strip(), [])
        for cell in row[1:]:
            for phrase in _PHRASE_SEP.split(cell or ""):
                phrase = phrase.strip()
                if phrase and phrase not in phrases:
                    phrases.append(phrase)
    if not out:
        raise EvaluationError(f"{path}: no row has a label in its first column")
    return out


def read_table(path: str, text_columns: list[str], label_column: str) -> tuple[list[str], list[str]]:
    """(texts, labels) from a CSV (UTF-8, with or without BOM) or an xlsx file's first sheet: the text
    columns joined with a space; rows without a label are skipped. EvaluationError on a missing file
    or column, an unreadable file."""
    if not text_columns or not all(text_columns):
        raise EvaluationError("--text needs one or more column names, comma-separated")
    header, rows = _read_rows(path)
    missing = [c for c in [*text_columns, label_column] if c not in header]
    if missing:
        raise EvaluationError(f"{path}: no column {', '.join(missing)} (columns: {', '.join(header) or 'none'})")
    ti = [header.index(c) for c in text_columns]
    li = header.index(label_column)
    texts, labels = [], []
    for row in rows:
        row = list(row) + [""] * (len(header) - len(row))
        label = (row[li] or "").strip()
        if not label:
            continue
        texts.append(" ".join((row[i] or "").strip() for i in ti).strip())
        labels.append(label)
    if not texts:
        raise EvaluationError(f"{path}: no row has a label in column {label_column}")
    return texts, labels


def format_report(result: dict, *, max_classes: int = 40) -> str:
    """The figures as text: a side-by-side summary, then per-class figures and the confusion matrix."""
    names = [n for n in ("router", "baseline") if n in result]
    lines = [f"{result['examples']} examples, {result['classes']} classes, {result['folds']}-fold stratified "
             f"cross-validation (seed {result['seed']}, classes with ≥ {result['min_class_size']} examples)",
             "label names: " + ("the router is given the label column's values as its labels' names"
                                if result.get("label_names") else "not used")]
    if result.get("directory"):
        d = result["directory"]
        lines.append(f"directory: {d['phrases']} phrases of {d['labels']} labels added to their names "
                     "(the figures are with the directory's phrases)")
    lines.append("")
    lines.append(f"{'':22}" + "".join(f"{n:>12}" for n in names))
    rows = [("accuracy", lambda r: f"{r['accuracy']:.4f}"), ("macro-F1", lambda r: f"{r['macro_f1']:.4f}"),
            ("top-3 accuracy", lambda r: f"{r['top3']:.4f}"),
            ("training s (mean)", lambda r: f"{r['train_seconds']['mean']:.2f}"),
            ("training CPU s (mean)", lambda r: f"{r['train_cpu_seconds']['mean']:.2f}"),
            ("latency p50 ms", lambda r: f"{r['latency_ms']['p50']:.2f}"),
            ("latency p99 ms", lambda r: f"{r['latency_ms']['p99']:.2f}"),
            ("latency p50 CPU ms", lambda r: f"{r['latency_cpu_ms']['p50']:.2f}"),
            ("latency p99 CPU ms", lambda r: f"{r['latency_cpu_ms']['p99']:.2f}")]
    for label, fmt in rows:
        lines.append(f"{label:22}" + "".join(f"{fmt(result[n]):>12}" for n in names))
    router = result["router"]
    classes = router["confusion"]["labels"]
    lines += ["", "per class (router): precision recall F1 support"]
    shown = sorted(classes, key=lambda c: -router["per_class"][c]["support"])[:max_classes]
    for c in shown:
        pc = router["per_class"][c]
        lines.append(f"  {pc['precision']:.3f}  {pc['recall']:.3f}  {pc['f1']:.3f}  {pc['support']:>5}  {c}")
    if len(classes) > len(shown):
        lines.append(f"  … {len(classes) - len(shown)} more classes (--json has them all)")
    if len(classes) <= 12:
        lines += ["", "confusion matrix (router; rows: true, columns: predicted, in this order):"]
        lines += [f"  {i + 1:>2} {c}" for i, c in enumerate(classes)]
        lines.append("     " + "".join(f"{i + 1:>6}" for i in range(len(classes))))
        for i, row in enumerate(router["confusion"]["matrix"]):
            lines.append(f"  {i + 1:>2} " + "".join(f"{v:>6}" for v in row))
    else:
        pairs = []
        m = router["confusion"]["matrix"]
        for i, ci in enumerate(classes):
            for j, cj in enumerate(classes):
                if i != j and m[i][j]:
                    pairs.append((m[i][j], ci, cj))
        lines += ["", "most frequent confusions (router; true → predicted):"]
        lines += [f"  {n:>4}  {a} → {b}" for n, a, b in sorted(pairs, reverse=True)[:15]]
    return "\n".join(lines)
