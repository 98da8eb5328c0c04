"""Exact convex hulls, polygon areas and validity checks (numpy only).

Conventions follow the Ptr-Net paper: a hull is the list of its vertex indices, counter-clockwise,
starting at the lowest index. Points on a hull edge (collinear) are not vertices; of duplicate points
only the lowest index can be a vertex.
"""

from __future__ import annotations

import numpy as np


def cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """z of (a - o) x (b - o): > 0 for a left (counter-clockwise) turn o -> a -> b."""
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def convex_hull(points: np.ndarray) -> list[int]:
    """Hull vertex indices, CCW, starting at the lowest index (Andrew's monotone chain, O(n log n))."""
    # Of duplicate points keep the lowest index only; the chains below then never see ties.
    first_seen: dict[tuple[float, float], int] = {}
    for i, (x, y) in enumerate(points):
        first_seen.setdefault((float(x), float(y)), i)
    order = sorted(first_seen.values(), key=lambda i: (points[i][0], points[i][1]))
    if len(order) < 3:
        return sorted(order)

    def half(seq: list[int]) -> list[int]:
        chain: list[int] = []
        for i in seq:
            # `<= 0` drops collinear and duplicate points, so only strict corners remain.
            while len(chain) >= 2 and cross(points[chain[-2]], points[chain[-1]], points[i]) <= 0:
                chain.pop()
            chain.append(i)
        return chain

    lower, upper = half(order), half(order[::-1])
    hull = lower[:-1] + upper[:-1]
    if len(hull) < 3:  # every point collinear (or equal): no polygon
        return hull
    return rotate_to_lowest(hull)


def rotate_to_lowest(cycle: list[int]) -> list[int]:
    """The same cycle, started at its lowest index (the paper's canonical form)."""
    if not cycle:
        return cycle
    k = cycle.index(min(cycle))
    return cycle[k:] + cycle[:k]


def leftmost_start(hull: list[int], points: np.ndarray) -> list[int]:
    """The same cycle, started at its leftmost vertex (lowest y on ties).

    The network decodes from this start because it is geometric: a set encoder has no notion of
    index order, so "lowest index" is not something it can see.
    """
    k = min(range(len(hull)), key=lambda j: (points[hull[j]][0], points[hull[j]][1]))
    return hull[k:] + hull[:k]


def polygon_area(points: np.ndarray, cycle: list[int]) -> float:
    """Signed shoelace area of the polygon through `cycle` (> 0 when counter-clockwise)."""
    if len(cycle) < 3:
        return 0.0
    p = points[cycle]
    x, y = p[:, 0], p[:, 1]
    return float(0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _segments_cross(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> bool:
    d1, d2 = cross(a, b, c), cross(a, b, d)
    d3, d4 = cross(c, d, a), cross(c, d, b)
    return d1 * d2 < 0 and d3 * d4 < 0


def is_simple_polygon(points: np.ndarray, cycle: list[int]) -> bool:
    """True when `cycle` has >= 3 distinct vertices and no two non-adjacent edges cross."""
    m = len(cycle)
    if m < 3 or len(set(cycle)) != m:
        return False
    p = points[cycle]
    for i in range(m):
        for j in range(i + 2, m):
            if i == 0 and j == m - 1:
                continue  # adjacent through the closing edge
            if _segments_cross(p[i], p[(i + 1) % m], p[j], p[(j + 1) % m]):
                return False
    return True
