"""Point → area: the smallest containing area wins; every process sees a change to the areas."""

from __future__ import annotations

import numpy as np
import pytest

from gongzhi.areas import geo, services
from gongzhi.conftest import square


def test_the_smallest_containing_polygon_wins_and_many_agrees_with_one():
    rows = [(1, square(0, 0, 10)), (2, square(0, 0, 5)), (3, square(1, 1, 1)), (4, square(20, 20, 1))]
    index = geo.AreaIndex.build(rows)
    points = [(1.5, 1.5, 3), (4, 4, 2), (9, 9, 1), (15, 15, None), (20.5, 20.5, 4), (-1, -1, None)]
    for lon, lat, expected in points:
        assert index.lookup(lon, lat) == expected
    many = index.lookup_many([p[0] for p in points], [p[1] for p in points])
    assert many.tolist() == [(-1 if p[2] is None else p[2]) for p in points]


def test_an_empty_index_answers_none():
    index = geo.AreaIndex.build([])
    assert index.lookup(1, 1) is None
    assert index.lookup_many(np.array([1.0]), np.array([1.0])).tolist() == [-1]


def test_bad_geometries_are_skipped_when_building():
    index = geo.AreaIndex.build([(1, {"type": "Polygon", "coordinates": "x"}), (2, square(0, 0, 1))])
    assert index.lookup(0.5, 0.5) == 2


@pytest.mark.django_db
def test_a_new_polygon_is_seen_once_the_stamp_moves(world, monkeypatch):
    assert services.area_at(100.05, 30.05) == world.grid_a1
    first = geo.current_index()
    services.create_area(actor=None, level=world.grid_a1.level.__class__.objects.get(slug="building"),
                         parent=world.grid_a1, name="1号楼", geometry=square(100.04, 30.04, 0.02))
    monkeypatch.setattr(geo, "_checked_at", 0.0)  # as if a second had passed
    assert geo.current_index() is not first
    assert services.area_at(100.05, 30.05).name == "1号楼"
