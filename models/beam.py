"""Beam search in numpy over an encoded batch and a `decode_step` graph, shared by every attention decoder
here (translation with its copy switch, speech without one).

One call decodes a batch of inputs, each with its own beam size, n-best and limits: every step runs the
decoder once for all live hypotheses of all inputs (attention keys were computed once per input by the
encoder). Scores follow GNMT (Wu et al. 2016): finished hypotheses are ranked by
    log P(y | x) / lp(y) + cp(x, y),  lp = ((5 + |y|) / 6) ** alpha,  cp = beta * sum_j log(min(sum_t a_tj, 1))
alpha = beta = 0 gives plain log-probability. beam_size=1 is exactly greedy decoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from models.stepping import ActiveDecodings
from models.tokens import BOS_ID, EOS_ID, UNK_ID

EPS = 1e-9


class StepGraph(Protocol):
    def step(
        self, y: np.ndarray, h: np.ndarray, ctx: np.ndarray, memory: np.ndarray, keys: np.ndarray, mask: np.ndarray
    ) -> list[np.ndarray]:
        """-> logp_vocab (H, V), attn (H, S), p_gen (H,), h (H, Hd), ctx (H, C)."""
        ...


@dataclass(frozen=True)
class Encoded:
    """What an encoder gives the search, for a batch of B inputs."""

    memory: np.ndarray  # (B, S, C)
    keys: np.ndarray  # (B, S, A)
    h0: np.ndarray  # (B, Hd)
    lengths: np.ndarray  # (B,) valid memory positions per input


@dataclass(frozen=True)
class SearchQuery:
    beam_size: int = 1
    n_best: int = 1
    max_length: int = 100  # output tokens, </s> excluded
    alpha: float = 0.0  # length normalization exponent
    beta: float = 0.0  # coverage penalty weight
    # Copy mechanism: each memory position as an id in the extended vocabulary; None = no copying.
    copy_ids: tuple[int, ...] | None = None
    block_unk: bool = False  # never generate <unk>: an unknown word must be copied or replaced
    # When to stop. "k_finished": once beam_size hypotheses have ended (fairseq's rule; finished ones take
    # beam slots). "bound": keep beam_size live hypotheses and stop only when the n_best-th finished score
    # beats the best score any live one can still reach. Character decoders need "bound": ending early
    # costs one cheap </s>, so short hypotheses fill the beam long before the right one ends.
    stop: Literal["k_finished", "bound"] = "k_finished"


@dataclass
class Hypothesis:
    ids: list[int]  # extended target ids, </s> excluded
    log_prob: float  # sum of token log-probabilities (</s> included when finished)
    score: float  # the ranking score (see module docstring)
    finished: bool  # ended with </s> (False: stopped at max_length)
    attention: list[np.ndarray]  # per output token, </s> included: (S,) weights over source tokens
    copy_prob: list[float]  # per output token: 1 - p_gen, the weight the copy mechanism had
    token_logp: list[float]  # per output token, </s> included: its log-probability (a confidence)


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


@dataclass
class Decoding:
    """One input's search in progress: its memory (valid positions only), live and finished hypotheses."""

    query: SearchQuery
    memory: np.ndarray  # (S, C)
    keys: np.ndarray  # (S, A)
    live: list[_Live]
    done: list[Hypothesis] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return not self.live

    def result(self) -> list[Hypothesis]:
        """n-best hypotheses, best first."""
        return sorted(self.done, key=lambda hyp: -hyp.score)[: self.query.n_best]


def start_decodings(enc: Encoded, queries: list[SearchQuery]) -> list[Decoding]:
    """A Decoding per encoded input, each holding one empty hypothesis."""
    lengths = enc.lengths.astype(np.int64)
    c = enc.memory.shape[-1]
    return [
        Decoding(q, enc.memory[b, :n], enc.keys[b, :n], [_Live([], 0.0, enc.h0[b], np.zeros(c, dtype=np.float32), np.zeros(n))])
        for b, (q, n) in enumerate(zip(queries, lengths.tolist(), strict=True))
    ]


class StepBatch(ActiveDecodings[Decoding]):
    """Decodings of any inputs, advanced together: every `step()` runs the decoder once for every live
    hypothesis of every active decoding. Decodings may join between steps (`add`) and leave when they
    finish, which is what step-level (iteration-level) scheduling needs; `beam_search` runs one batch to
    the end. Memory is padded and masked per models.stepping."""

    def __init__(self, graph: StepGraph, vocab_size: int) -> None:
        super().__init__()
        self.graph, self.vocab_size = graph, vocab_size

    def _positions(self, d: Decoding) -> list[np.ndarray]:
        return [d.memory, d.keys]

    def step(self) -> list[Decoding]:
        """One decoder step for all live hypotheses; returns (and drops) the decodings that finished."""
        if not self.active:
            return []
        rows = [hyp for d in self.active for hyp in d.live]
        y = np.array([hyp.ids[-1] if hyp.ids else BOS_ID for hyp in rows], dtype=np.int64)
        y[y >= self.vocab_size] = UNK_ID  # copied words are fed back as <unk>: they have no embedding
        h = np.stack([hyp.h for hyp in rows])
        ctx = np.stack([hyp.ctx for hyp in rows])
        out = self.graph.step(y, h, ctx, *self._gathered())
        start, finished = 0, []
        for d in self.active:
            sl = slice(start, start + len(d.live))
            start += len(d.live)
            d.live = _expand(d.query, len(d.memory), d.live, [o[sl] for o in out], self.vocab_size, d.done)
            if _finished(d.query, d.live, d.done):
                d.live = []
                finished.append(d)
        self.active = [d for d in self.active if not d.finished]
        return finished


def beam_search(graph: StepGraph, enc: Encoded, queries: list[SearchQuery], vocab_size: int) -> list[list[Hypothesis]]:
    """n-best hypotheses per query, best first."""
    decodings = start_decodings(enc, queries)
    StepBatch(graph, vocab_size).run(decodings)
    return [d.result() for d in decodings]
