"""Search on a tiny seeded model: greedy, beam, constrained; batching must not change answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.hull.search import END, HullQuery, HullStepBatch, convex_mask, decode, start_decodings
from models.hull.training.checkpoint import load_checkpoint
from models.hull.training.torch_search import greedy_positions
from tests.helpers import eager_graphs


def queries(seed: int, sizes: list[int], mode: str = "greedy", beam: int = 1) -> list[HullQuery]:
    rng = np.random.default_rng(seed)
    return [HullQuery(rng.random((n, 2)).astype(np.float32), mode, beam) for n in sizes]  # type: ignore[arg-type]


def test_beam_one_equals_greedy(hull_checkpoint: Path) -> None:
    g = eager_graphs(hull_checkpoint)
    qs = queries(1, [5, 9, 17, 30])
    greedy = decode(g, qs)
    beam1 = decode(g, [HullQuery(q.points, "beam", 1) for q in qs])
    for a, b in zip(greedy, beam1, strict=True):
        assert a.order == b.order and a.finished == b.finished
        assert a.log_prob == pytest.approx(b.log_prob)


def test_numpy_greedy_matches_torch_greedy(hull_checkpoint: Path) -> None:
    g = eager_graphs(hull_checkpoint)
    q = queries(2, [12])[0]
    ours = decode(g, [q])[0]
    ref = greedy_positions(load_checkpoint(hull_checkpoint), torch.from_numpy(q.points[None]), max_steps=13)[0]
    expected = [int(p) - 1 for p in ref[: len(ours.order)]]
    assert ours.order == expected
    if ours.finished:
        assert ref[len(ours.order)] == END


def test_batched_equals_single(hull_checkpoint: Path) -> None:
    g = eager_graphs(hull_checkpoint)
    qs = queries(3, [4, 25, 11, 7], "beam", 3) + queries(4, [6, 40], "constrained", 2)
    together = decode(g, qs)
    for q, res in zip(qs, together, strict=True):
        alone = decode(g, [q])[0]
        assert alone.order == res.order
        assert alone.log_prob == pytest.approx(res.log_prob, abs=1e-4)
        np.testing.assert_allclose(np.stack(alone.attention), np.stack(res.attention), atol=1e-5)


def test_decodings_joining_a_running_step_batch_get_their_unbatched_results(hull_checkpoint: Path) -> None:
    # What the step scheduler does: decodings join between steps and leave as they finish.
    g = eager_graphs(hull_checkpoint)
    waves = [queries(5, [30, 6], "beam", 3), queries(6, [9], "constrained", 2), queries(7, [45, 4, 12])]
    batch, started = HullStepBatch(g), []
    for wave in waves:
        started += start_decodings(g, wave)
        batch.add(started[-len(wave) :])
        batch.step()
        batch.step()
    while batch.active:
        batch.step()
    for d in started:
        alone = decode(g, [d.query])[0]
        assert d.result().order == alone.order and d.result().finished == alone.finished
        assert d.result().log_prob == pytest.approx(alone.log_prob, abs=1e-4)


def test_beam_keeps_its_best_score_at_least_greedy_on_average(hull_checkpoint: Path) -> None:
    # Not guaranteed per instance for beam search, but over many instances it must not be worse.
    g = eager_graphs(hull_checkpoint)
    qs = queries(5, [8] * 20)
    greedy = decode(g, qs)
    beam = decode(g, [HullQuery(q.points, "beam", 4) for q in qs])
    assert np.mean([b.log_prob for b in beam]) >= np.mean([a.log_prob for a in greedy]) - 1e-6


def test_constrained_output_is_convex_ccw_and_attention_sums_to_one(hull_checkpoint: Path) -> None:
    g = eager_graphs(hull_checkpoint)
    for res, q in zip(decode(g, qs := queries(6, [5, 10, 20, 50], "constrained", 2)), qs, strict=True):
        assert res.finished and len(res.order) >= 3 and len(set(res.order)) == len(res.order)
        p = q.points[res.order].astype(np.float64)
        a, b, c = p, np.roll(p, -1, 0), np.roll(p, -2, 0)
        turns = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
        assert np.all(turns > 0)
        assert len(res.attention) == len(res.order) + 1
        for row in res.attention:
            assert row.shape == (len(q.points) + 1,) and row.sum() == pytest.approx(1.0, abs=1e-5)


def test_convex_mask_rules() -> None:
    pts = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5], [0, 0]], dtype=np.float32)
    m0 = convex_mask(pts, [])
    assert not m0[END] and m0[1:].all()
    m2 = convex_mask(pts, [1, 2])  # chose (0,0) then (1,0)
    assert not m2[END]  # two vertices cannot close a polygon
    assert not m2[1] and not m2[2]  # already chosen
    assert m2[3] and m2[4] and m2[5]  # left turns that can still close
    assert not m2[6]  # a duplicate of the first vertex
    m3 = convex_mask(pts, [1, 2, 3])
    assert m3[END] and m3[4] and not m3[5]  # (0.5, 0.5) would be a reflex vertex


class StepCountingGraphs:
    """A fake pointer net: at step t it gives point t probability 0.9 and END 0.05 (after step 0).

    The full hull (points 0..n-1, then END) is the most likely sequence, but short sequences that END
    early finish first: a search that stops once beam_size hypotheses finished returns one of them.
    """

    def __init__(self, n: int) -> None:
        self.n = n

    def encode(self, points: np.ndarray, valid: np.ndarray) -> list[np.ndarray]:
        b, n, _ = points.shape
        z = np.zeros((b, n + 1, 2), np.float32)
        return [z, z, z, z, np.zeros((b, 2), np.float32)]

    def step(self, x: np.ndarray, h: np.ndarray, *rest: np.ndarray) -> list[np.ndarray]:
        rows, length = h.shape[0], self.n + 1
        t = int(h[0, 0])
        p = np.full((rows, length), 0.05 / max(1, length - 2), np.float64)
        p[:, END] = 0.05 if t > 0 else 1e-6
        p[:, min(t + 1, length - 1) if t < self.n else END] = 0.9
        return [np.log(p / p.sum(axis=1, keepdims=True)).astype(np.float32), h + 1]


def test_beam_search_does_not_stop_at_the_first_k_short_finishes() -> None:
    n = 6
    q = HullQuery(np.random.default_rng(0).random((n, 2)).astype(np.float32), "beam", 4)
    best = decode(StepCountingGraphs(n), [q])[0]
    assert best.order == list(range(n)) and best.finished
