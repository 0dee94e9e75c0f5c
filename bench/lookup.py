"""Benchmark: point → smallest containing area with ``gongzhi.areas.geo.AreaIndex`` (no database).

Synthetic city near 106.8°E 39.6°N (乌海): a 400 × 250 lattice of slightly irregular quadrilateral
grids (网格, 100,000 polygons) whose corners are jittered and shared, so grids tile without gaps or
overlaps. Their parents follow the same jittered lattice lines, so every grid lies exactly inside
its community, street, district and the city, and a point inside a grid is inside five polygons:

    city (1, with a margin around the lattice) → district (4) → street (40) → community (1,000,
    10 × 10 grids each) → grid (100,000)

Some points fall in the city's margin (answer: the city) or outside everything (answer: None), so
the "smallest containing area" logic is exercised, not just "the only hit".

Measured on ONE core (thread pools capped at one thread and the process pinned to one CPU):

- build: ``AreaIndex.build(rows)`` time and memory (RSS delta, and tracemalloc's peak of Python
  allocations; GEOS allocates outside Python, so RSS is the number that matters);
- single: ``index.lookup(lon, lat)`` in a Python loop over 200,000 random points;
- many: ``index.lookup_many(lons, lats)`` over 1,000,000 random points;
- correctness: ``lookup`` and ``lookup_many`` agree on every single-lookup point, and both match a
  brute-force answer (every polygon tested, smallest containing one kept) on a sample.

Prints one JSON object on stdout. Exits 1 when an answer is wrong, never because it is slow.

    .venv/bin/python bench/lookup.py [--grids-x 400 --grids-y 250 --single 200000 --many 1000000]
"""

from __future__ import annotations

import os

# One core: cap every thread pool before numpy/shapely load.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("GONGZHI_INSECURE_DEV", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")

import argparse  # noqa: E402
import gc  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import numpy as np  # noqa: E402
import shapely  # noqa: E402
from benchcommon import pin_to_one_cpu, rss_bytes  # noqa: E402

TARGET_SINGLE_PER_S = 100_000

LON0, LAT0 = 106.70, 39.45  # south-west corner of the lattice
DLON, DLAT = 0.0015, 0.0012  # one grid ≈ 128 m × 133 m
JITTER = 0.22  # corners move up to ±22 % of a cell: quadrilaterals stay simple (valid)
COMMUNITY = 10  # grids per community side
STREET = 5  # communities per street side
DISTRICT_STREETS = (2, 5)  # streets per district (x, y)
MARGIN = 4  # grids of city margin around the lattice (inside the city, in no district)
METRES_PER_DEGREE = 111_320.0
OUTSIDE_SHARE = 0.05  # share of random points drawn over a wider box (margin and outside the city)


def lattice(nx: int, ny: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Jittered corner coordinates, shape (nx + 1, ny + 1)."""
    rng = np.random.default_rng(seed)
    i, j = np.meshgrid(np.arange(nx + 1), np.arange(ny + 1), indexing="ij")
    xs = LON0 + (i + rng.uniform(-JITTER, JITTER, i.shape)) * DLON
    ys = LAT0 + (j + rng.uniform(-JITTER, JITTER, j.shape)) * DLAT
    return xs, ys


def block_ring(xs, ys, i0: int, j0: int, i1: int, j1: int) -> list[list[float]]:
    """The outline of lattice cells [i0, i1) × [j0, j1), following the jittered lines (CCW)."""
    ring = [(i, j0) for i in range(i0, i1 + 1)]
    ring += [(i1, j) for j in range(j0 + 1, j1 + 1)]
    ring += [(i, j1) for i in range(i1 - 1, i0 - 1, -1)]
    ring += [(i0, j) for j in range(j1 - 1, j0 - 1, -1)]
    return [[float(xs[i, j]), float(ys[i, j])] for i, j in ring]


def polygon(ring) -> dict:
    return {"type": "Polygon", "coordinates": [ring]}


def build_rows(nx: int, ny: int, seed: int, densify_m: float = 0) -> tuple[list[tuple[int, dict]], dict[str, int]]:
    """(area_id, GeoJSON) rows: grids first (ids 1…), then communities, streets, districts, city.

    ``densify_m`` > 0 adds vertices to the parents' outlines so that no segment is longer than that
    many metres: surveyed boundaries follow roads and rivers and carry thousands of vertices.
    """
    xs, ys = lattice(nx, ny, seed)
    rows: list[tuple[int, dict]] = []
    next_id = 1
    for i in range(nx):
        for j in range(ny):
            ring = [[float(xs[a, b]), float(ys[a, b])] for a, b in ((i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1), (i, j))]
            rows.append((next_id, polygon(ring)))
            next_id += 1
    counts = {"grid": len(rows)}

    def blocks(kind: str, sx: int, sy: int):
        nonlocal next_id
        n = 0
        for i0 in range(0, nx, sx):
            for j0 in range(0, ny, sy):
                rows.append((next_id, polygon(block_ring(xs, ys, i0, j0, min(i0 + sx, nx), min(j0 + sy, ny)))))
                next_id += 1
                n += 1
        counts[kind] = n

    blocks("community", COMMUNITY, COMMUNITY)
    blocks("street", COMMUNITY * STREET, COMMUNITY * STREET)
    blocks("district", COMMUNITY * STREET * DISTRICT_STREETS[0], COMMUNITY * STREET * DISTRICT_STREETS[1])
    x0, y0 = LON0 - MARGIN * DLON, LAT0 - MARGIN * DLAT
    x1, y1 = LON0 + (nx + MARGIN) * DLON, LAT0 + (ny + MARGIN) * DLAT
    rows.append((next_id, polygon([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]])))
    counts["city"] = 1
    if densify_m > 0:
        step = densify_m / METRES_PER_DEGREE
        rows[counts["grid"]:] = [
            (area_id, shapely.geometry.mapping(shapely.segmentize(shapely.geometry.shape(geometry), step)))
            for area_id, geometry in rows[counts["grid"]:]
        ]
    return rows, counts


def random_points(n: int, nx: int, ny: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """95 % uniform over the lattice, 5 % over a box reaching past the city (margin, or nowhere)."""
    lons = rng.uniform(LON0, LON0 + nx * DLON, n)
    lats = rng.uniform(LAT0, LAT0 + ny * DLAT, n)
    wide = rng.random(n) < OUTSIDE_SHARE
    pad = 2 * MARGIN
    lons[wide] = rng.uniform(LON0 - pad * DLON, LON0 + (nx + pad) * DLON, wide.sum())
    lats[wide] = rng.uniform(LAT0 - pad * DLAT, LAT0 + (ny + pad) * DLAT, wide.sum())
    return lons, lats


def brute_force(geoms: np.ndarray, ids: np.ndarray, sizes: np.ndarray, lon: float, lat: float) -> int:
    """Test the point against every polygon; the smallest containing one wins (-1: none)."""
    inside = np.flatnonzero(shapely.contains_xy(geoms, lon, lat))
    if len(inside) == 0:
        return -1
    return int(ids[inside[np.argmin(sizes[inside])]])


def timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grids-x", type=int, default=400)
    parser.add_argument("--grids-y", type=int, default=250)
    parser.add_argument("--single", type=int, default=200_000, help="points for single lookups")
    parser.add_argument("--many", type=int, default=1_000_000, help="points for lookup_many")
    parser.add_argument("--check", type=int, default=2_000, help="points checked by brute force")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each measurement")
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--densify", type=float, default=0, metavar="METRES",
                        help="give parent outlines a vertex at least every METRES (0: lattice corners only)")
    parser.add_argument("--index-class", default="gongzhi.areas.geo.AreaIndex",
                        help="dotted path of the index class to measure (to try a candidate implementation "
                             "with the same interface: build(rows), lookup(lon, lat), lookup_many(lons, lats))")
    args = parser.parse_args(argv)
    module_name, _, class_name = args.index_class.rpartition(".")
    index_class = getattr(importlib.import_module(module_name), class_name)
    cpu = pin_to_one_cpu()
    rng = np.random.default_rng(args.seed)

    t0 = time.perf_counter()
    rows, counts = build_rows(args.grids_x, args.grids_y, args.seed, args.densify)
    vertices = {kind: 0 for kind in counts}
    start = 0
    for kind, n in counts.items():
        vertices[kind] = max(len(g["coordinates"][0]) for _, g in rows[start:start + n])
        start += n
    generate_s = time.perf_counter() - t0
    print(f"generated {len(rows):,} polygons in {generate_s:.1f} s", file=sys.stderr)

    # Build: time it on its own first, then once more under tracemalloc for Python-side memory.
    gc.collect()
    rss_before = rss_bytes()
    t0 = time.perf_counter()
    index = index_class.build(rows)
    build_s = time.perf_counter() - t0
    gc.collect()
    rss_delta = rss_bytes() - rss_before
    print(f"built the index in {build_s:.2f} s (RSS +{rss_delta / 2**20:.0f} MiB)", file=sys.stderr)
    tracemalloc.start()
    index_class.build(rows)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    gc.collect()

    # (a) single lookups in a Python loop.
    lons, lats = random_points(args.single, args.grids_x, args.grids_y, rng)
    lon_list, lat_list = lons.tolist(), lats.tolist()
    lookup = index.lookup
    single_results: list = []

    def run_single():
        single_results[:] = [lookup(x, y) for x, y in zip(lon_list, lat_list, strict=True)]

    run_single()  # warm-up
    single_times = timed(run_single, args.repeat)
    single_best = min(single_times)
    print(f"lookup: {args.single / single_best:,.0f}/s", file=sys.stderr)

    # (b) vectorised lookups.
    mlons, mlats = random_points(args.many, args.grids_x, args.grids_y, rng)
    many_results: list = [None]

    def run_many():
        many_results[0] = index.lookup_many(mlons, mlats)

    run_many()
    many_times = timed(run_many, args.repeat)
    many_best = min(many_times)
    print(f"lookup_many: {args.many / many_best:,.0f}/s", file=sys.stderr)

    # Correctness.
    errors: list[str] = []
    single_arr = np.array([-1 if r is None else r for r in single_results], dtype=np.int64)
    many_on_single = index.lookup_many(lons, lats)
    disagree = np.flatnonzero(single_arr != many_on_single)
    if len(disagree):
        k = disagree[0]
        errors.append(f"lookup and lookup_many disagree on {len(disagree)} points, e.g. ({lons[k]}, {lats[k]}): "
                      f"{single_arr[k]} vs {many_on_single[k]}")
    geoms = np.array([shapely.geometry.shape(g) for _, g in rows], dtype=object)
    shapely.prepare(geoms)
    ids = np.array([i for i, _ in rows], dtype=np.int64)
    sizes = shapely.area(geoms)
    sample = rng.choice(args.single, size=min(args.check, args.single), replace=False)
    wrong = 0
    for k in sample:
        expected = brute_force(geoms, ids, sizes, lons[k], lats[k])
        if expected != single_arr[k]:
            wrong += 1
            if wrong <= 5:
                errors.append(f"point ({lons[k]}, {lats[k]}): lookup gave {single_arr[k]}, brute force {expected}")
    msample = rng.choice(args.many, size=min(args.check, args.many), replace=False)
    for k in msample:
        expected = brute_force(geoms, ids, sizes, mlons[k], mlats[k])
        if expected != many_results[0][k]:
            wrong += 1
            if wrong <= 5:
                errors.append(f"point ({mlons[k]}, {mlats[k]}): lookup_many gave {many_results[0][k]}, "
                              f"brute force {expected}")
    grid_max_id = counts["grid"]
    share = {
        "grid": float(np.mean((single_arr >= 1) & (single_arr <= grid_max_id))),
        "city_margin": float(np.mean(single_arr == rows[-1][0])),
        "none": float(np.mean(single_arr == -1)),
    }

    summary = {
        "benchmark": "lookup",
        "index_class": args.index_class,
        "ok": not errors,
        "errors": errors,
        "cpu_pinned": cpu,
        "python": platform.python_version(),
        "shapely": shapely.__version__,
        "geos": ".".join(map(str, shapely.geos_version)),
        "numpy": np.__version__,
        "polygons": len(rows),
        "counts": counts,
        "densify_m": args.densify,
        "max_vertices": vertices,
        "generate_s": round(generate_s, 2),
        "build_s": round(build_s, 3),
        "build_rss_mib": round(rss_delta / 2**20, 1),
        "build_tracemalloc_peak_mib": round(traced_peak / 2**20, 1),
        "single": {
            "points": args.single,
            "best_s": round(single_best, 3),
            "median_s": round(statistics.median(single_times), 3),
            "per_s": round(args.single / single_best),
            "us_per_lookup": round(single_best / args.single * 1e6, 2),
            "target_per_s": TARGET_SINGLE_PER_S,
            "target_met": args.single / single_best >= TARGET_SINGLE_PER_S,
        },
        "many": {
            "points": args.many,
            "best_s": round(many_best, 3),
            "median_s": round(statistics.median(many_times), 3),
            "per_s": round(args.many / many_best),
            "us_per_lookup": round(many_best / args.many * 1e6, 3),
        },
        "answers": {k: round(v, 4) for k, v in share.items()},
        "checked_by_brute_force": int(len(sample) + len(msample)),
        "checked_lookup_vs_lookup_many": args.single,
    }
    print(json.dumps(summary, indent=2))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
