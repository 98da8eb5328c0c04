"""Decoding for the hull pointer network, in numpy, over any pair of `encode` / `step` graphs.

One call decodes a whole batch of requests, each with its own mode and beam size: every step runs
the decoder once for all live hypotheses of all requests. Modes:
- greedy: argmax at each step;
- beam: beam search over summed log-probabilities (beam_size=1 is exactly greedy);
- constrained: beam search that masks points already chosen and any point that would make the closed
  polygon non-convex (or not counter-clockwise), and allows END only once 3 vertices are chosen.

The returned `attention` is the model's own pointer distribution at each step (before any
constraint mask), over [END, point 0, ..., point n-1].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from models.stepping import PaddedDecodings

Mode = Literal["greedy", "beam", "constrained"]
END = 0  # memory position of the END token; point i sits at position i + 1


class HullGraphs(Protocol):
    def encode(self, points: np.ndarray, valid: np.ndarray) -> list[np.ndarray]:
        """points (B, N, 2) f32, valid (B, N) bool -> memory, glimpse_k, glimpse_v, pointer_k (B, N+1, d), h0 (B, d)."""
        ...

    def step(
        self, x: np.ndarray, h: np.ndarray, gk: np.ndarray, gv: np.ndarray, pk: np.ndarray, valid: np.ndarray
    ) -> list[np.ndarray]:
        """x (H, 2d), h (H, d), gk/gv/pk (H, L, d), valid (H, L) -> logits (H, L), h (H, d)."""
        ...


@dataclass(frozen=True)
class HullQuery:
    points: np.ndarray  # (n, 2) float32, already normalized to the unit square
    mode: Mode = "greedy"
    beam_size: int = 1


@dataclass
class HullResult:
    order: list[int]  # point indices in decoding order (leftmost vertex first), END excluded
    finished: bool  # the model emitted END within n + 1 steps
    log_prob: float  # sum of log-probabilities of the chosen steps (END included)
    attention: list[np.ndarray]  # per step: (n + 1,) pointer distribution, END first


@dataclass
class _Hyp:
    positions: list[int]  # chosen memory positions (1..n)
    score: float
    h: np.ndarray  # (d,)
    attention: list[np.ndarray] = field(default_factory=list)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    m = np.max(x, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    z = x - m
    return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


def _cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Broadcast z-component of (a - o) x (b - o)."""
    return (a[..., 0] - o[..., 0]) * (b[..., 1] - o[..., 1]) - (a[..., 1] - o[..., 1]) * (b[..., 0] - o[..., 0])


def convex_mask(points: np.ndarray, positions: list[int]) -> np.ndarray:
    """(n + 1,) bool: which memory positions keep the closed polygon strictly convex and CCW."""
    n = len(points)
    allowed = np.ones(n + 1, dtype=bool)
    chosen = [p - 1 for p in positions]
    allowed[[p + 1 for p in chosen]] = False
    allowed[END] = len(chosen) >= 3
    if len(chosen) >= 1:
        cand = points  # (n, 2)
        chain = points[chosen]  # (m, 2)
        first = chain[0]
        ok = np.ones(n, dtype=bool)
        if len(chosen) >= 2:
            # The candidate must lie strictly left of every edge of the chain so far...
            ok &= np.all(_cross(chain[:-1, None], chain[1:, None], cand[None]) > 0, axis=0)
        # ...and every chosen vertex strictly left of the closing edge candidate -> first.
        others = chain[1:]
        if len(others):
            ok &= np.all(_cross(cand[:, None], first[None, None], others[None]) > 0, axis=1)
        # Also no zero-length edge: a duplicate of the first vertex would close the polygon early.
        ok &= np.any(cand != first, axis=1)
        allowed[1:] &= ok
    return allowed


def _pad(queries: list[HullQuery]) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(q.points) for q in queries)
    points = np.zeros((len(queries), width, 2), dtype=np.float32)
    valid = np.zeros((len(queries), width), dtype=bool)
    for i, q in enumerate(queries):
        points[i, : len(q.points)] = q.points
        valid[i, : len(q.points)] = True
    return points, valid


def length_buckets(sizes: list[int], slack: float = 1.25) -> list[list[int]]:
    """Group indices of similar size so that padding wastes at most ~25% of a bucket's encoder work.

    The encoder's cost grows with the padded width, so one 50-point request in a batch of 10-point
    ones would otherwise make every row pay for 50 points.
    """
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    buckets: list[list[int]] = []
    for i in order:
        if buckets and sizes[i] + 1 <= slack * (sizes[buckets[-1][0]] + 1):
            buckets[-1].append(i)
        else:
            buckets.append([i])
    return buckets


def encode_batch(graphs: HullGraphs, queries: list[HullQuery]) -> tuple[list[np.ndarray], np.ndarray]:
    """Encode in length buckets; return outputs padded to the widest query, and the (B, N+1) mask."""
    width = max(len(q.points) for q in queries) + 1
    outputs: list[np.ndarray] = []
    for bucket in length_buckets([len(q.points) for q in queries]):
        part = graphs.encode(*_pad([queries[i] for i in bucket]))
        if not outputs:
            outputs = [np.zeros((len(queries), width, *o.shape[2:]) if o.ndim == 3 else (len(queries), *o.shape[1:]),
                                dtype=o.dtype) for o in part]  # fmt: skip
        for full, o in zip(outputs, part, strict=True):
            if o.ndim == 3:
                full[bucket, : o.shape[1]] = o
            else:
                full[bucket] = o
    valid = np.zeros((len(queries), width), dtype=bool)
    for i, q in enumerate(queries):
        valid[i, : len(q.points) + 1] = True
    return outputs, valid


def _expand(
    q: HullQuery, hyps: list[_Hyp], logits: np.ndarray, logp: np.ndarray, h: np.ndarray, finished: list[_Hyp]
) -> list[_Hyp]:
    """One beam step for one query: returns the new live hypotheses, appends finished ones.

    `logp` is the unconstrained log-softmax of `logits`, computed for all rows at once by the caller;
    its exp is the attention reported to users.
    """
    n = len(q.points)
    attention = np.exp(logp[:, : n + 1])
    if q.mode == "constrained":
        masks = np.stack([convex_mask(q.points, hyp.positions) for hyp in hyps])
        masks[~masks.any(axis=1), END] = True  # a dead end may still close the polygon
        logp = _log_softmax(np.where(masks, logits[:, : n + 1], -np.inf))
    k = q.beam_size
    candidates: list[tuple[float, int, int]] = []
    for i, hyp in enumerate(hyps):
        if k == 1:
            order = [int(np.argmax(logp[i]))]  # argmax takes the lowest position on ties, like a stable sort
        else:
            order = np.argsort(-logp[i], kind="stable")[:k].tolist()
        candidates += [(hyp.score + float(logp[i, t]), i, t) for t in order if np.isfinite(logp[i, t])]
    candidates.sort(key=lambda c: -c[0])  # sort is stable, so equal scores keep hypothesis order
    live: list[_Hyp] = []
    for score, i, t in candidates[:k]:
        parent = hyps[i]
        child = _Hyp(parent.positions + ([t] if t != END else []), score, h[i], [*parent.attention, attention[i]])
        (finished if t == END else live).append(child)
    return live


def _done(live: list[_Hyp], finished: list[_Hyp]) -> bool:
    # Log-probabilities only fall, so no live hypothesis can overtake the best finished one. Stopping
    # at k finished instead would be wrong here: short (bad) polygons finish first and would fill the
    # count while the true hull, a longer sequence, is still being extended.
    if not live:
        return True
    return bool(finished) and max(f.score for f in finished) >= max(h.score for h in live)


@dataclass
class HullDecoding:
    """One query's search in progress: its encoder outputs (its own n + 1 positions), live and finished
    hypotheses, and the steps taken (at most n + 1: END, or every point once)."""

    query: HullQuery
    memory: np.ndarray  # (n + 1, d), END first
    keys: list[np.ndarray]  # glimpse_k, glimpse_v, pointer_k: each (n + 1, d)
    live: list[_Hyp]
    done: list[_Hyp] = field(default_factory=list)
    steps: int = 0

    @property
    def finished(self) -> bool:
        return not self.live or self.steps > len(self.query.points)

    def result(self) -> HullResult:
        return _result(self.done, self.live, self.query)


def start_decodings(graphs: HullGraphs, queries: list[HullQuery]) -> list[HullDecoding]:
    """Encode the queries (in length buckets) and return one HullDecoding each."""
    (memory, gk, gv, pk, h0), _ = encode_batch(graphs, queries)
    out = []
    for b, q in enumerate(queries):
        width = len(q.points) + 1
        keys = [gk[b, :width], gv[b, :width], pk[b, :width]]
        out.append(HullDecoding(q, memory[b, :width], keys, [_Hyp([], 0.0, h0[b])]))
    return out


class HullStepBatch(PaddedDecodings[HullDecoding]):
    """Hull decodings of any sizes advanced together, one decoder step for every live hypothesis of every
    active decoding per `step()`; decodings join between steps (`add`) and leave when they finish. The
    same contract as models.beam.StepBatch (both are models.stepping.ActiveDecodings), so the step
    scheduler drives both."""

    def __init__(self, graphs: HullGraphs) -> None:
        super().__init__()
        self.graphs = graphs

    def _positions(self, d: HullDecoding) -> list[np.ndarray]:
        return d.keys  # glimpse_k, glimpse_v, pointer_k

    def step(self) -> list[HullDecoding]:
        """One decoder step for all live hypotheses; returns (and drops) the decodings that finished."""
        if not self.active:
            return []
        x = np.concatenate([np.stack([d.memory[hyp.positions[0] if hyp.positions else END],
                                      d.memory[hyp.positions[-1] if hyp.positions else END]]).reshape(-1)[None]
                            for d in self.active for hyp in d.live])  # fmt: skip
        h = np.stack([hyp.h for d in self.active for hyp in d.live])
        logits, h_new = self.graphs.step(x, h, *self._gathered())
        logp = _log_softmax(logits)  # padded positions hold -1e9, so they get exactly zero mass
        start, finished = 0, []
        for d in self.active:
            sl = slice(start, start + len(d.live))
            start += len(d.live)
            d.live = _expand(d.query, d.live, logits[sl], logp[sl], h_new[sl], d.done)
            d.steps += 1
            if _done(d.live, d.done):
                d.live = []
            if d.finished:
                finished.append(d)
        self.active = [d for d in self.active if not d.finished]
        return finished


def decode(graphs: HullGraphs, queries: list[HullQuery]) -> list[HullResult]:
    """Decode every query; batched across queries and beams at each step."""
    decodings = start_decodings(graphs, queries)
    HullStepBatch(graphs).run(decodings)
    return [d.result() for d in decodings]


def _result(finished: list[_Hyp], live: list[_Hyp], q: HullQuery) -> HullResult:
    pool, done = (finished, True) if finished else (live, False)
    if not pool:  # cannot happen with a finite step limit, but never index an empty list
        return HullResult([], False, float("-inf"), [])
    best = max(pool, key=lambda hyp: hyp.score)
    return HullResult([p - 1 for p in best.positions], done, best.score, best.attention)
