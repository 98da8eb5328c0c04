"""Exact hull, areas and polygon checks."""

from __future__ import annotations

import numpy as np
import pytest

from models.hull.geometry import convex_hull, is_simple_polygon, leftmost_start, polygon_area, rotate_to_lowest


@pytest.mark.parametrize("seed", range(20))
def test_hull_contains_every_point_and_is_ccw(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pts = rng.random((int(rng.integers(3, 60)), 2))
    hull = convex_hull(pts)
    assert hull[0] == min(hull)
    assert polygon_area(pts, hull) > 0  # counter-clockwise
    for a, b in zip(hull, hull[1:] + hull[:1], strict=True):  # every point left of (or on) every edge
        ea = pts[b] - pts[a]
        cr = ea[0] * (pts[:, 1] - pts[a, 1]) - ea[1] * (pts[:, 0] - pts[a, 0])
        assert np.all(cr >= -1e-12)


def test_square_with_interior_collinear_and_duplicate_points() -> None:
    pts = np.array([[0.5, 0.5], [1, 0], [1, 1], [0, 1], [0, 0], [0.5, 0], [1, 0], [0.25, 0.75]])
    # (0.5, 0) lies on an edge and (1, 0) repeats index 1: neither is a vertex.
    assert convex_hull(pts) == [1, 2, 3, 4]


def test_all_collinear_has_no_polygon() -> None:
    assert len(convex_hull(np.array([[0, 0], [1, 1], [2, 2], [3, 3]]))) < 3


def test_rotations() -> None:
    assert rotate_to_lowest([5, 2, 9]) == [2, 9, 5]
    pts = np.array([[0.9, 0.1], [0.1, 0.5], [0.5, 0.9]])
    assert leftmost_start([0, 2, 1], pts) == [1, 0, 2]


def test_area_and_simplicity() -> None:
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    assert polygon_area(square, [0, 1, 2, 3]) == pytest.approx(1.0)
    assert polygon_area(square, [0, 3, 2, 1]) == pytest.approx(-1.0)
    assert is_simple_polygon(square, [0, 1, 2, 3])
    assert not is_simple_polygon(square, [0, 2, 1, 3])  # a bow tie
    assert not is_simple_polygon(square, [0, 1, 1])
