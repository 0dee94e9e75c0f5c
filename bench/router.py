"""Benchmark: the smart-dispatch router (``gongzhi.router.textmodel.TextRouter``) on ONE core.

Synthetic 10,000-case training set, built by resampling (with replacement, seeded) the two real data
sets of ``../shared/data`` (see its README): the city message board (7 first-level classes) and the
Shanghai letters (agencies with at least ``--min-class-size`` letters), labels kept apart by a
prefix, so the model faces many labels of very different sizes as a city's directory does.

Measured with every thread pool capped at one thread and the process pinned to one CPU:

- train: ``TextRouter().fit(texts, labels, names=...)`` (the labels' names: the agency or class
  name), including its internal calibration fit, as process CPU time — the 2 cores of the
  benchmark machine are shared, so wall time also counts the waiting for the CPU — and wall time;
- size: ``dumps()`` bytes, ``loads()`` time;
- latency: ``predict([text], k=3)`` one text at a time over ``--predict`` texts that were not
  drawn for training (p50, p90, p99, max), as thread CPU time and wall time, and ``explain`` for
  the best label.

Prints one JSON object on stdout; targets: training < 60 s CPU, one prediction p99 < 10 ms CPU.

    .venv/bin/python bench/router.py [--cases 10000 --predict 2000 --min-class-size 10]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import numpy as np  # noqa: E402
from benchcommon import pin_to_one_cpu, rss_bytes  # noqa: E402

TARGET_TRAIN_S = 60.0
TARGET_P99_MS = 10.0
DATA = ROOT.parent / "shared" / "data"


def load(data: Path, min_class_size: int) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    with open(data / "teddy2020c" / "messages_3676.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            texts.append(f"{r['title'] or ''} {r['text'] or ''}")
            labels.append("留言板/" + r["label"])
    with open(data / "letters" / "shanghai_letters_5702.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    counts = Counter(r["agency"] for r in rows)
    for r in rows:
        if counts[r["agency"]] >= min_class_size:
            texts.append(f"{r['title'] or ''} {r['text'] or ''}")
            labels.append("来信/" + r["agency"])
    return texts, labels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--predict", type=int, default=2_000)
    parser.add_argument("--min-class-size", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    cpu = pin_to_one_cpu()

    import scipy
    import sklearn
    from threadpoolctl import threadpool_limits

    from gongzhi.router import textmodel
    from gongzhi.router.textmodel import TextRouter

    threadpool_limits(1)
    texts, labels = load(args.data, args.min_class_size)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(texts))
    held = order[: args.predict]  # prediction texts: never drawn for training
    pool = order[args.predict:]
    train_ix = rng.choice(pool, size=args.cases, replace=True)
    train_texts = [texts[i] for i in train_ix]
    train_labels = [labels[i] for i in train_ix]
    lengths = np.array([len(t) for t in train_texts])

    textmodel._tokenizer()  # jieba's dictionary: loaded once per process, not part of training
    gc.collect()
    rss0 = rss_bytes()
    names = {lab: lab.split("/", 1)[1] for lab in set(train_labels)}
    t0, c0 = time.perf_counter(), time.process_time()
    router = TextRouter().fit(train_texts, train_labels, names=names)
    train_cpu_s = time.process_time() - c0
    train_s = time.perf_counter() - t0
    rss_train = rss_bytes() - rss0
    print(f"trained on {args.cases:,} cases ({len(set(train_labels))} labels) in {train_cpu_s:.1f} s CPU "
          f"({train_s:.1f} s wall)", file=sys.stderr)

    t0 = time.perf_counter()
    blob = router.dumps()
    dumps_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    router = TextRouter.loads(blob)
    loads_s = time.perf_counter() - t0

    held_texts = [texts[i] for i in held]
    for t in held_texts[:50]:  # warm-up
        router.predict([t], k=3)
    lat, lat_cpu, correct, top3 = [], [], 0, 0
    for i, t in zip(held, held_texts, strict=True):
        t0, c0 = time.perf_counter(), time.thread_time()
        row = router.predict([t], k=3)[0]
        lat_cpu.append(time.thread_time() - c0)
        lat.append(time.perf_counter() - t0)
        correct += row[0][0] == labels[i]
        top3 += labels[i] in [lab for lab, _ in row]
    lat_ms = np.array(lat) * 1000
    lat_cpu_ms = np.array(lat_cpu) * 1000
    ex, ex_cpu = [], []
    for t in held_texts[:300]:
        best = router.predict([t], k=1)[0][0][0]
        t0, c0 = time.perf_counter(), time.thread_time()
        router.explain(t, best)
        ex_cpu.append(time.thread_time() - c0)
        ex.append(time.perf_counter() - t0)
    ex_ms = np.array(ex) * 1000
    ex_cpu_ms = np.array(ex_cpu) * 1000

    summary = {
        "benchmark": "router",
        "cpu_pinned": cpu,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu": next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line), ""),
        "scikit_learn": sklearn.__version__,
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "cases": args.cases,
        "labels": len(set(train_labels)),
        "text_chars": {"mean": round(float(lengths.mean()), 1), "p99": int(np.percentile(lengths, 99)),
                       "max": int(lengths.max())},
        "model": router.info,
        "train_cpu_seconds": round(train_cpu_s, 2),
        "train_seconds": round(train_s, 2),
        "train_rss_mib": round(rss_train / 2**20, 1),
        "model_bytes": len(blob),
        "dumps_seconds": round(dumps_s, 3),
        "loads_seconds": round(loads_s, 3),
        "predict_cpu_ms": {q: round(float(np.percentile(lat_cpu_ms, p)), 3)
                           for q, p in (("p50", 50), ("p90", 90), ("p99", 99))}
        | {"max": round(float(lat_cpu_ms.max()), 3), "n": len(lat)},
        "predict_ms": {q: round(float(np.percentile(lat_ms, p)), 3)
                       for q, p in (("p50", 50), ("p90", 90), ("p99", 99))} | {"max": round(float(lat_ms.max()), 3),
                                                                                 "n": len(lat)},
        "explain_cpu_ms": {"p50": round(float(np.percentile(ex_cpu_ms, 50)), 3),
                           "p99": round(float(np.percentile(ex_cpu_ms, 99)), 3)},
        "explain_ms": {"p50": round(float(np.percentile(ex_ms, 50)), 3),
                       "p99": round(float(np.percentile(ex_ms, 99)), 3)},
        "held_out_accuracy": round(correct / len(held), 4),
        "held_out_top3": round(top3 / len(held), 4),
        "targets": {"train_cpu_seconds_lt": TARGET_TRAIN_S, "predict_cpu_p99_ms_lt": TARGET_P99_MS},
        "meets_targets": bool(train_cpu_s < TARGET_TRAIN_S and np.percentile(lat_cpu_ms, 99) < TARGET_P99_MS),
    }
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
