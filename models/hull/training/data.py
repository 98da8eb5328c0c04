"""Training and evaluation data, generated on the fly: uniform points in the unit square.

Targets are memory positions for the decoder: vertex index + 1 (position 0 is END), the hull started
at its leftmost vertex and going counter-clockwise, then END, then -100 padding.
"""

from __future__ import annotations

import numpy as np

from models.hull.geometry import convex_hull, leftmost_start

IGNORE = -100


def sample_points(rng: np.random.Generator, batch: int, n: int) -> np.ndarray:
    """(batch, n, 2) float32 uniform in [0, 1)^2."""
    return rng.random((batch, n, 2), dtype=np.float64).astype(np.float32)


def decode_order(points: np.ndarray) -> list[int]:
    """The exact hull in the order the network is trained to emit it (leftmost vertex first)."""
    return leftmost_start(convex_hull(points), points)


def make_targets(points: np.ndarray) -> np.ndarray:
    """(batch, T) int64 decoder targets for a batch of point sets."""
    orders = [decode_order(p) for p in points]
    width = max(len(o) for o in orders) + 1
    targets = np.full((len(points), width), IGNORE, dtype=np.int64)
    for row, order in enumerate(orders):
        targets[row, : len(order)] = np.asarray(order) + 1
        targets[row, len(order)] = 0
    return targets


def eval_set(n: int, size: int, seed: int) -> np.ndarray:
    """A fixed, seeded set of `size` instances with `n` points each."""
    return sample_points(np.random.default_rng([seed, n]), size, n)
