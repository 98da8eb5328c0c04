"""The per-hypothesis beam search that models/beam.py replaced (an object per hypothesis, Python candidate
lists, a loop per row in the top-k), kept as the reference the array search must equal: same ids, same
scores. Only tests use it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.beam import EPS, Encoded, Hypothesis, SearchQuery, StepGraph
from models.tokens import BOS_ID, EOS_ID, UNK_ID


@dataclass
class _Live:
    ids: list[int]
    log_prob: float
    h: np.ndarray
    ctx: np.ndarray
    coverage: np.ndarray  # (S,) summed attention
    attention: list[np.ndarray] = field(default_factory=list)
    copy_prob: list[float] = field(default_factory=list)
    token_logp: list[float] = field(default_factory=list)


def _finish(hyp: _Live, q: SearchQuery, finished: bool, step_logp: float) -> Hypothesis:
    log_prob = hyp.log_prob + step_logp
    length = len(hyp.ids) + (1 if finished else 0)
    lp = ((5 + length) / 6) ** q.alpha
    cp = q.beta * float(np.sum(np.log(np.minimum(hyp.coverage, 1.0) + EPS))) if q.beta else 0.0
    return Hypothesis(hyp.ids, log_prob, log_prob / lp + cp, finished, hyp.attention, hyp.copy_prob, hyp.token_logp)


def _final_logp(logp_vocab: np.ndarray, attn: np.ndarray, p_gen: np.ndarray, src_ext: np.ndarray, width: int) -> np.ndarray:
    """(H, width) log of p_gen * P_vocab + (1 - p_gen) * attention scattered onto the source's ext ids."""
    h, v = logp_vocab.shape
    p = np.zeros((h, width), dtype=np.float64)
    p[:, :v] = p_gen[:, None] * np.exp(logp_vocab)
    rows = np.repeat(np.arange(h), src_ext.shape[0])
    np.add.at(p, (rows, np.tile(src_ext, h)), ((1 - p_gen)[:, None] * attn[:, : src_ext.shape[0]]).ravel())
    return np.log(p + EPS)


def _top_k(logp: np.ndarray, k: int) -> np.ndarray:
    """(H, k) ids of each row's k largest values, best first, ties to the lower id (exactly what a stable
    sort gives). A partition, not a sort of the whole vocabulary: sorting every row was most of a beam
    step's time."""
    if k == 1:
        return logp.argmax(axis=1)[:, None]
    out = np.empty((logp.shape[0], k), dtype=np.int64)
    width = logp.shape[1]
    kth = np.partition(logp, width - k, axis=1)[:, width - k]  # each row's k-th largest (no negated copy)
    for i, row in enumerate(logp):
        above = np.flatnonzero(row > kth[i])
        ids = np.concatenate([above, np.flatnonzero(row == kth[i])[: k - len(above)]])
        out[i] = ids[np.lexsort((ids, -row[ids]))]
    return out


def _expand(
    q: SearchQuery, n: int, live: list[_Live], out: list[np.ndarray], vocab_size: int, done: list[Hypothesis]
) -> list[_Live]:
    """One beam step for one input of n memory positions; appends finished hypotheses to `done`, returns the
    new live ones."""
    logp_vocab, attn, p_gen, h, ctx = out
    if q.copy_ids is None:
        logp = logp_vocab.astype(np.float64)
    else:
        width = max(vocab_size, max(q.copy_ids) + 1)
        logp = _final_logp(logp_vocab, attn, p_gen, np.asarray(q.copy_ids), width)
    if q.block_unk:
        logp[:, UNK_ID] = -np.inf
    k = min(q.beam_size, logp.shape[1])
    top = _top_k(logp, k)
    cands = [(hyp.log_prob + float(logp[i, t]), i, t) for i, hyp in enumerate(live) for t in top[i].tolist()]
    cands.sort(key=lambda c: -c[0])
    if q.stop == "bound":  # </s> among the best k ends a hypothesis; the best k others stay live
        cands = [c for rank, c in enumerate(cands) if c[2] != EOS_ID or rank < k]
        cands = [c for c in cands if c[2] == EOS_ID] + [c for c in cands if c[2] != EOS_ID][:k]
    new: list[_Live] = []
    for total, i, t in cands if q.stop == "bound" else cands[:k]:
        parent = live[i]
        a = attn[i, :n]
        child = _Live(parent.ids + ([] if t == EOS_ID else [t]), total, h[i], ctx[i], parent.coverage + a,
                      [*parent.attention, a], [*parent.copy_prob, float(1 - p_gen[i])],
                      [*parent.token_logp, float(logp[i, t])])  # fmt: skip
        if t == EOS_ID:
            done.append(_finish(child, q, True, 0.0))
        elif len(child.ids) >= q.max_length:
            done.append(_finish(child, q, False, 0.0))
        else:
            new.append(child)
    return new


def _finished(q: SearchQuery, live: list[_Live], done: list[Hypothesis]) -> bool:
    if q.stop == "k_finished":
        return len(done) >= q.beam_size
    if len(done) < q.n_best or not live:
        return not live
    # A live hypothesis's log-prob only falls, and its length penalty is at most lp(max_length): this
    # bounds its final score from above (the coverage penalty is never positive).
    best_possible = max(h.log_prob for h in live) / ((5 + q.max_length + 1) / 6) ** q.alpha
    return sorted((h.score for h in done), reverse=True)[q.n_best - 1] >= best_possible


def _pad(a: np.ndarray, width: int) -> np.ndarray:
    return np.pad(a, ((0, width - len(a)), (0, 0)))


def reference_beam_search(graph: StepGraph, enc: Encoded, queries: list[SearchQuery], vocab_size: int) -> list[list[Hypothesis]]:
    """n-best hypotheses per query, best first, every query of the batch decoded together."""
    lengths = enc.lengths.astype(np.int64).tolist()
    c = enc.memory.shape[-1]
    states = [
        (q, enc.memory[b, :n], enc.keys[b, :n], [_Live([], 0.0, enc.h0[b], np.zeros(c, dtype=np.float32), np.zeros(n))], [])
        for b, (q, n) in enumerate(zip(queries, lengths, strict=True))
    ]
    active = list(range(len(states)))
    while active:
        width = max(len(states[i][1]) for i in active)
        rows = [(i, hyp) for i in active for hyp in states[i][3]]
        y = np.array([hyp.ids[-1] if hyp.ids else BOS_ID for _, hyp in rows], dtype=np.int64)
        y[y >= vocab_size] = UNK_ID
        memory = np.stack([_pad(states[i][1], width) for i, _ in rows])
        keys = np.stack([_pad(states[i][2], width) for i, _ in rows])
        mask = np.stack([np.arange(width) < len(states[i][1]) for i, _ in rows])
        out = graph.step(y, np.stack([h.h for _, h in rows]), np.stack([h.ctx for _, h in rows]), memory, keys, mask)
        start, still = 0, []
        for i in active:
            q, mem, _, live, done = states[i]
            sl = slice(start, start + len(live))
            start += len(live)
            live[:] = _expand(q, len(mem), live, [o[sl] for o in out], vocab_size, done)
            if _finished(q, live, done):
                live.clear()
            if live:
                still.append(i)
        active = still
    return [sorted(done, key=lambda hyp: -hyp.score)[: q.n_best] for q, _, _, _, done in states]
