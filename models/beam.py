"""Beam search in numpy over an encoded batch and a `decode_step` graph, shared by every attention decoder
here (translation with its copy switch, speech and captions without one).

Scores follow GNMT (Wu et al. 2016): finished hypotheses are ranked by
    log P(y | x) / lp(y) + cp(x, y),  lp = ((5 + |y|) / 6) ** alpha,  cp = beta * sum_j log(min(sum_t a_tj, 1))
alpha = beta = 0 gives plain log-probability. beam_size=1 is exactly greedy decoding.

The search state is kept in flat arrays, one row per live hypothesis of every active decoding (grouped by
decoding, each decoding's rows best first): last token, decoder state, context, log-probability, attention
coverage. A step is a handful of vectorized calls whatever the batch: one decoder call for every row, the
copy distribution scattered for every row at once, one top-k over all rows, one sort of each decoding's
candidates, and gathers of the rows kept. What a step kept (backpointers, tokens, attention, the copy
switch and token log-probabilities) is recorded once per step; a hypothesis becomes a `Hypothesis`, its
attention gathered along the backpointers, only when its decoding's result is asked for. Decodings may
join between steps and leave when they finish, which is what step-level scheduling needs.
"""

from __future__ import annotations

from dataclasses import dataclass
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


class RankingStepGraph(StepGraph, Protocol):
    """A decoder step that also ranks its vocabulary (export/common.py's TopKStep), so that the search reads
    a few candidates per row instead of the whole distribution; `in_graph_top_k` says whether it can."""

    in_graph_top_k: bool

    def step_top(
        self, y: np.ndarray, h: np.ndarray, ctx: np.ndarray, memory: np.ndarray, keys: np.ndarray, mask: np.ndarray,
        vocab_ids: np.ndarray, k: np.ndarray,
    ) -> list[np.ndarray]:  # fmt: skip
        """-> top_logp (H, K), top_ids (H, K) (K = len(k), best first, ties to the lower id), src_logp (H, S)
        (log-probabilities at vocab_ids (H, S)), attn, p_gen, h, ctx."""
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

    @property
    def rows(self) -> int:
        """The most hypothesis rows this query's search runs at once (what a step budget counts)."""
        return self.beam_size


@dataclass
class Hypothesis:
    ids: list[int]  # extended target ids, </s> excluded
    log_prob: float  # sum of token log-probabilities (</s> included when finished)
    score: float  # the ranking score (see module docstring)
    finished: bool  # ended with </s> (False: stopped at max_length)
    attention: list[np.ndarray]  # per output token, </s> included: (S,) weights over source tokens
    copy_prob: list[float]  # per output token: 1 - p_gen, the weight the copy mechanism had
    token_logp: list[float]  # per output token, </s> included: its log-probability (a confidence)


@dataclass(frozen=True)
class _Step:
    """Every hypothesis one step made and kept (children), across the decodings stepped together; each
    decoding's children are a contiguous run, best first."""

    parent: np.ndarray  # (C,) each child's index among its decoding's children of the step before (-1: first step)
    token: np.ndarray  # (C,) int64 extended id (</s> included)
    attn: np.ndarray  # (C, S) float32 attention of the step, padded to the step's widest memory
    copy: np.ndarray  # (C,) float32 1 - p_gen
    logp: np.ndarray  # (C,) float64 the token's log-probability


@dataclass(frozen=True)
class _Done:
    """A finished hypothesis: where its last token is, and its scores."""

    step: int  # index into its decoding's history
    child: int  # index among that step's children of its decoding
    log_prob: float
    score: float
    finished: bool  # ended with </s>


class Decoding:
    """One input's search in progress. Its live hypotheses are rows of the StepBatch it is in; it keeps its
    memory (valid positions only), how many rows it has, its history and its finished hypotheses."""

    def __init__(self, query: SearchQuery, memory: np.ndarray, keys: np.ndarray, h0: np.ndarray) -> None:
        self.query = query
        self.memory = memory  # (S, C)
        self.keys = keys  # (S, A)
        self.h0 = h0  # (Hd,) the decoder state its first hypothesis starts from
        self.live_rows = 1  # the empty hypothesis, before the first step
        self.length = 0  # output tokens of every live hypothesis (they advance together)
        self.history: list[tuple[_Step, int]] = []  # per step: the record and where this decoding's children start
        self.done: list[_Done] = []

    @property
    def finished(self) -> bool:
        return self.live_rows == 0

    def result(self) -> list[Hypothesis]:
        """n-best hypotheses, best first."""
        best = sorted(self.done, key=lambda d: -d.score)[: self.query.n_best]
        return [self._hypothesis(d) for d in best]

    def _hypothesis(self, d: _Done) -> Hypothesis:
        """Follow the backpointers from a finished hypothesis's last token to its first."""
        n = len(self.memory)
        ids, attention, copy, logp = [], [], [], []
        child = d.child
        for t in range(d.step, -1, -1):
            rec, start = self.history[t]
            i = start + child
            ids.append(int(rec.token[i]))
            attention.append(rec.attn[i, :n])
            copy.append(float(rec.copy[i]))
            logp.append(float(rec.logp[i]))
            child = int(rec.parent[i])
        ids.reverse(), attention.reverse(), copy.reverse(), logp.reverse()
        if d.finished:
            ids.pop()  # </s> is no output token; its attention and log-probability stay
        return Hypothesis(ids, d.log_prob, d.score, d.finished, attention, copy, logp)


def start_decodings(enc: Encoded, queries: list[SearchQuery]) -> list[Decoding]:
    """A Decoding per encoded input, each holding one empty hypothesis."""
    lengths = enc.lengths.astype(np.int64).tolist()
    return [
        Decoding(q, enc.memory[b, :n], enc.keys[b, :n], enc.h0[b]) for b, (q, n) in enumerate(zip(queries, lengths, strict=True))
    ]


def top_k(logp: np.ndarray, k: int) -> np.ndarray:
    """(R, k) ids of each row's k largest values, best first, ties to the lower id: exactly what a stable
    sort of each row gives, without sorting whole rows (a vocabulary is thousands wide)."""
    if k == 1:
        return logp.argmax(axis=1)[:, None]
    width = logp.shape[1]
    ids = np.argpartition(logp, width - k, axis=1)[:, width - k :]  # the k largest, ties at the k-th arbitrary
    vals = np.take_along_axis(logp, ids, axis=1)
    kth = vals.min(axis=1, keepdims=True)
    # A row whose k-th value also occurs outside the chosen ids must take the lowest of those ids instead.
    for r in np.flatnonzero((logp == kth).sum(axis=1) != (vals == kth).sum(axis=1)):
        above = np.flatnonzero(logp[r] > kth[r, 0])
        ids[r] = np.concatenate([above, np.flatnonzero(logp[r] == kth[r, 0])[: k - len(above)]])
        vals[r] = logp[r, ids[r]]
    order = np.lexsort((ids, -vals), axis=1)  # value descending, then id ascending
    return np.take_along_axis(ids, order, axis=1)


class _Members:
    """Per-decoding arrays of the active set, rebuilt when decodings join or leave."""

    def __init__(self, active: list[Decoding], vocab_size: int) -> None:
        qs = [d.query for d in active]
        self.vocab_size = vocab_size
        self.n = np.array([len(d.memory) for d in active], dtype=np.int64)
        width = int(self.n.max())
        self.memory = np.zeros((len(active), width, active[0].memory.shape[1]), dtype=active[0].memory.dtype)  # (D, S, C)
        self.keys = np.zeros((len(active), width, active[0].keys.shape[1]), dtype=active[0].keys.dtype)  # (D, S, A)
        for i, d in enumerate(active):
            self.memory[i, : len(d.memory)], self.keys[i, : len(d.keys)] = d.memory, d.keys
        self.mask = np.arange(width)[None, :] < self.n[:, None]  # (D, S)
        self.copies = any(q.copy_ids is not None for q in qs)
        if self.copies and not all(q.copy_ids is not None for q in qs):
            raise ValueError("decodings stepped together either all copy or none do (one model)")
        self.copy_ids = np.zeros((len(qs), width), dtype=np.int64)  # (D, S) extended id of each position
        self.copy_mask = np.zeros((len(qs), width), dtype=bool)  # (D, S) positions that copy
        for i, q in enumerate(qs):
            if q.copy_ids is not None:
                self.copy_ids[i, : len(q.copy_ids)] = q.copy_ids
                self.copy_mask[i, : len(q.copy_ids)] = True
        # (D, S) each position's id in the plain vocabulary where it has one (0 elsewhere): where a graph
        # that ranks its own vocabulary reads the copied words' probabilities.
        self.vocab_ids = np.where(self.copy_mask & (self.copy_ids < vocab_size), self.copy_ids, 0)
        # A decoding's row width: the vocabulary, extended by its source's out-of-vocabulary ids when it copies.
        self.width = np.array([max(vocab_size, max(q.copy_ids) + 1) if q.copy_ids else vocab_size for q in qs])
        self.k = np.minimum([q.beam_size for q in qs], self.width)
        self.bound = np.array([q.stop == "bound" for q in qs])
        self.block_unk = np.array([q.block_unk for q in qs])
        self.max_length = np.array([q.max_length for q in qs])


class StepBatch(ActiveDecodings[Decoding]):
    """Decodings of any inputs, advanced together: every `step()` runs the decoder once for every live
    hypothesis of every active decoding. Decodings may join between steps (`add`) and leave when they
    finish; `beam_search` runs one batch to the end. A decoding's result does not depend on what it was
    batched with: memory is padded to the widest active decoding and masked."""

    def __init__(self, graph: StepGraph, vocab_size: int) -> None:
        self.graph, self.vocab_size = graph, vocab_size
        self.active: list[Decoding] = []
        self._members: _Members | None = None
        self._slab: tuple[tuple[int, ...], list[np.ndarray]] = ((), [])
        # The live rows, grouped by decoding in `active` order (each decoding's `live_rows` of them).
        self._y = np.zeros(0, dtype=np.int64)  # last token (BOS before the first)
        self._h: np.ndarray | None = None  # (R, Hd) decoder state
        self._ctx: np.ndarray | None = None  # (R, C) attention context
        self._logp = np.zeros(0)  # (R,) float64 log-probability so far
        self._coverage = np.zeros((0, 0))  # (R, S) float64 attention summed over steps
        self._child = np.zeros(0, dtype=np.int64)  # (R,) the row's index among its decoding's last children

    @property
    def rows(self) -> int:
        return len(self._y)

    def add(self, decodings: list[Decoding]) -> None:
        new = [d for d in decodings if not d.finished]
        if not new:
            return
        h0 = np.stack([d.h0 for d in new])
        ctx0 = np.zeros((len(new), new[0].memory.shape[-1]), dtype=np.float32)
        self._y = np.concatenate([self._y, np.full(len(new), BOS_ID, dtype=np.int64)])
        self._h = h0 if self._h is None else np.concatenate([self._h, h0])
        self._ctx = ctx0 if self._ctx is None else np.concatenate([self._ctx, ctx0])
        self._logp = np.concatenate([self._logp, np.zeros(len(new))])
        self._child = np.concatenate([self._child, np.full(len(new), -1, dtype=np.int64)])
        width = max(self._coverage.shape[1], *(len(d.memory) for d in new))
        self._coverage = np.concatenate([_pad_to(self._coverage, width), np.zeros((len(new), width))])
        self.active += new
        self._members = None

    def remove(self, decoding: Decoding) -> None:
        at = next((i for i, d in enumerate(self.active) if d is decoding), None)
        if at is None:
            return
        start = sum(d.live_rows for d in self.active[:at])
        self._keep_rows(np.r_[0:start, start + decoding.live_rows : self.rows])
        del self.active[at]
        self._members = None

    def _keep_rows(self, rows: np.ndarray) -> None:
        assert self._h is not None and self._ctx is not None
        self._y, self._h, self._ctx = self._y[rows], self._h[rows], self._ctx[rows]
        self._logp, self._coverage, self._child = self._logp[rows], self._coverage[rows], self._child[rows]

    def _gathered(self, m: _Members, counts: np.ndarray) -> list[np.ndarray]:
        """Memory, keys, mask and vocabulary ids for every row: its decoding's, repeated per row; kept while
        the rows' decodings and counts stay the same."""
        key = (*(id(d) for d in self.active), *counts.tolist())
        if self._slab[0] != key:
            self._slab = (key, [np.repeat(a, counts, axis=0) for a in (m.memory, m.keys, m.mask, m.vocab_ids)])
        return self._slab[1]

    def _ranked(self, m: _Members, kmax: int, width: int) -> int:
        """How many candidates per row the graph must rank so that the search needs nothing else of the
        distribution (0: it cannot, or the vocabulary is too small for ranking to save anything): the kmax
        best, plus as many as may be set aside (every copied column, and <unk>)."""
        k = kmax + width + 1 if m.copies else kmax + 1
        return k if getattr(self.graph, "in_graph_top_k", False) and k <= self.vocab_size // 2 else 0

    def step(self) -> list[Decoding]:
        """One decoder step for all live hypotheses; returns (and drops) the decodings that finished."""
        if not self.active:
            return []
        if self._members is None:
            self._members = _Members(self.active, self.vocab_size)
            self._coverage = _pad_to(self._coverage, self._members.memory.shape[1])
        m = self._members
        counts = np.array([d.live_rows for d in self.active])
        seq = np.repeat(np.arange(len(self.active)), counts)  # (R,) each row's decoding
        y = np.where(self._y >= self.vocab_size, UNK_ID, self._y)  # copied words are fed back as <unk>
        memory, keys, mask, vocab_ids = self._gathered(m, counts)
        kmax = int(m.k.max())
        ranked = self._ranked(m, kmax, mask.shape[1])
        if ranked:
            graph: RankingStepGraph = self.graph  # type: ignore[assignment]
            k = np.zeros(ranked, dtype=np.int64)
            ranks = graph.step_top(y, self._h, self._ctx, memory, keys, mask, vocab_ids, k)
            top_logp, top_ids, src_logp, attn, p_gen, h, ctx = ranks
            if m.copies:
                vocab = _RankedVocabulary(top_logp, top_ids, src_logp, p_gen)
                top, top_logp = _best_with_copying(m, seq, kmax, vocab, attn, p_gen)
            else:
                top, top_logp = _best_of_ranked(top_logp, top_ids, m.block_unk[seq], kmax)
            return self._advance(m, self._children(m, seq, counts, top, top_logp), attn, p_gen, h, ctx)
        logp_vocab, attn, p_gen, h, ctx = self.graph.step(y, self._h, self._ctx, memory, keys, mask)
        if m.copies and logp_vocab.shape[1] > kmax + attn.shape[1]:
            top, top_logp = _best_with_copying(m, seq, kmax, _DenseVocabulary(logp_vocab, p_gen), attn, p_gen)
        elif m.copies:  # a vocabulary too small for the candidates to cover the k best (tests' toy decoders)
            logp = _copy_logp(m, seq, logp_vocab, attn, p_gen)
            top = top_k(logp, kmax)
            top_logp = np.take_along_axis(logp, top, axis=1)
        else:
            logp_vocab[m.block_unk[seq], UNK_ID] = -np.inf
            top = top_k(logp_vocab, kmax)
            top_logp = np.take_along_axis(logp_vocab, top, axis=1).astype(np.float64)
        chosen = self._children(m, seq, counts, top, top_logp)
        return self._advance(m, chosen, attn, p_gen, h, ctx)

    def _children(self, m: _Members, seq: np.ndarray, counts: np.ndarray, top: np.ndarray, top_logp: np.ndarray) -> _Chosen:
        """The hypotheses each decoding keeps from this step, in the order its search keeps them, from each
        row's best tokens `top` (R, kmax) and their log-probabilities (a decoding reads its first k)."""
        kmax = top.shape[1]
        total = self._logp[:, None] + top_logp  # (R, kmax)
        # Each decoding's candidates in one row of a (D, rows * kmax) matrix: its rows in order, each row's
        # tokens by rank; slots past a decoding's rows or its k are padding, sorted last.
        n_dec, width = len(counts), int(counts.max()) * kmax
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        cols = (np.arange(len(seq)) - first[seq])[:, None] * kmax + np.arange(kmax)[None, :]
        real = np.arange(kmax)[None, :] < m.k[seq][:, None]
        cand_total, cand_pad = np.full((n_dec, width), -np.inf), np.ones((n_dec, width), dtype=bool)
        cand_at = np.zeros((n_dec, width), dtype=np.int64)  # the candidate's flat index in (R, kmax)
        at = (seq[:, None], cols)
        cand_total[at], cand_pad[at] = np.where(real, total, -np.inf), ~real
        cand_at[at] = np.arange(top.size).reshape(top.shape)
        # Best total first; among equal totals the real candidates, in row-then-rank order (a stable sort).
        order = np.lexsort((np.broadcast_to(np.arange(width), (n_dec, width)), cand_pad, -cand_total), axis=1)
        s_total, s_pad = np.take_along_axis(cand_total, order, 1), np.take_along_axis(cand_pad, order, 1)
        s_at = np.take_along_axis(cand_at, order, 1)
        s_tok = top.reshape(-1)[s_at]
        rank, k, bound = np.arange(width)[None, :], m.k[:, None], m.bound[:, None]
        eos, real = s_tok == EOS_ID, ~s_pad
        # "k_finished": the k best. "bound": </s> among the k best ends a hypothesis, and the k best others live on.
        keep_eos = real & eos & (rank < k)
        others = real & ~eos
        keep = np.where(bound, keep_eos | (others & (np.cumsum(others, axis=1) <= k)), real & (rank < k))
        # The order the search takes them in: "bound" takes its </s> candidates first.
        taken = np.where(bound & ~eos, rank + width, rank)
        d_idx, c_idx = np.nonzero(keep)
        o = np.lexsort((taken[d_idx, c_idx], d_idx))
        d_idx, c_idx = d_idx[o], c_idx[o]
        flat = s_at[d_idx, c_idx]
        return _Chosen(d_idx, flat // kmax, s_tok[d_idx, c_idx], s_total[d_idx, c_idx], top_logp.reshape(-1)[flat])

    def _advance(self, m: _Members, c: _Chosen, attn: np.ndarray, p_gen: np.ndarray, h: np.ndarray,
                 ctx: np.ndarray) -> list[Decoding]:  # fmt: skip
        """Record the step, finish hypotheses, make the kept ones the next step's rows; the finished decodings."""
        lengths = np.array([d.length for d in self.active])
        eos = c.token == EOS_ID
        live = ~eos & (lengths[c.dec] + 1 < m.max_length[c.dec])
        n_children = np.bincount(c.dec, minlength=len(self.active))
        starts = np.concatenate([[0], np.cumsum(n_children)[:-1]])
        index = np.arange(len(c.dec)) - starts[c.dec]  # each child's index among its decoding's children
        c_attn = attn[c.row]
        coverage = self._coverage[c.row] + c_attn
        record = _Step(self._child[c.row], c.token, c_attn, (1 - p_gen)[c.row], c.logp)
        for d, start in zip(self.active, starts.tolist(), strict=True):
            d.history.append((record, start))
            d.length += 1
        for i in np.flatnonzero(~live).tolist():
            d = self.active[c.dec[i]]
            q, log_prob = d.query, float(c.total[i])
            lp = ((5 + d.length) / 6) ** q.alpha
            cp = q.beta * float(np.sum(np.log(np.minimum(coverage[i, : len(d.memory)], 1.0) + EPS))) if q.beta else 0.0
            d.done.append(_Done(len(d.history) - 1, int(index[i]), log_prob, log_prob / lp + cp, bool(eos[i])))
        rows = np.flatnonzero(live)
        self._y, self._h, self._ctx, self._logp = c.token[rows], h[c.row[rows]], ctx[c.row[rows]], c.total[rows]
        self._coverage, self._child = coverage[rows], index[rows]
        kept = np.bincount(c.dec[rows], minlength=len(self.active))
        starts = np.concatenate([[0], np.cumsum(kept)[:-1]])
        finished = []
        for d, n, start in zip(self.active, kept.tolist(), starts.tolist(), strict=True):
            d.live_rows = n
            if n == 0 or _stops(d.query, self._logp[start : start + n], d.done):
                d.live_rows = 0
                finished.append(d)
        if finished:
            self._keep_rows(
                np.concatenate([np.arange(s, s + d.live_rows) for d, s in zip(self.active, starts.tolist(), strict=True)])
            )
            self.active = [d for d in self.active if not d.finished]
            self._members = None
        return finished


@dataclass(frozen=True)
class _Chosen:
    """The candidates kept this step, grouped by decoding in the order its search takes them."""

    dec: np.ndarray  # (C,) index of the decoding in `active`
    row: np.ndarray  # (C,) the parent row
    token: np.ndarray  # (C,) extended id
    total: np.ndarray  # (C,) float64 log-probability of the child
    logp: np.ndarray  # (C,) float64 log-probability of its token


def _vocab_probs(logp_vocab: np.ndarray, p_gen: np.ndarray) -> np.ndarray:
    """(R, V) float32 p_gen * P_vocab: the generating part of the copy distribution."""
    p = np.exp(logp_vocab)
    p *= p_gen[:, None]
    return p


def _lowest_first(ids: np.ndarray, values: np.ndarray, kmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's kmax best (id, value) pairs, value descending, ties to the lower id."""
    order = np.lexsort((ids, -values), axis=1)[:, :kmax]
    return np.take_along_axis(ids, order, axis=1), np.take_along_axis(values, order, axis=1)


def _best_of_ranked(top_logp: np.ndarray, top_ids: np.ndarray, blocked: np.ndarray, kmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's kmax best tokens and their log-probabilities from the graph's kmax + 1 ranked candidates,
    <unk> blocked where asked (the one extra candidate stands in for it)."""
    values = top_logp.copy()
    values[blocked[:, None] & (top_ids == UNK_ID)] = -np.inf
    top, best = _lowest_first(top_ids, values, kmax)
    return top, best.astype(np.float64)


class _Vocabulary(Protocol):
    """The generating part p_gen * P_vocab of each row's copy distribution, as the copy search reads it."""

    def at(self, rows: np.ndarray, cols: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """float32 p at (row, col), col being the word at memory position `positions` of the row's source."""
        ...

    def best(self, kmax: int, rows: np.ndarray, cols: np.ndarray, blocked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's kmax best ids and their p (float64) outside the columns (rows, cols) and <unk> in
        blocked rows, best first, ties to the lower id."""
        ...


class _DenseVocabulary:
    """From the whole distribution (R, V)."""

    def __init__(self, logp_vocab: np.ndarray, p_gen: np.ndarray) -> None:
        self.p = _vocab_probs(logp_vocab, p_gen)

    def at(self, rows: np.ndarray, cols: np.ndarray, positions: np.ndarray) -> np.ndarray:
        return self.p[rows, cols]

    def best(self, kmax: int, rows: np.ndarray, cols: np.ndarray, blocked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.p
        p[rows, cols] = -np.inf
        p[blocked, UNK_ID] = -np.inf
        top = top_k(p, kmax)
        return top, np.take_along_axis(p, top, axis=1).astype(np.float64)


class _RankedVocabulary:
    """From what a ranking graph gives: each row's K best log-probabilities with their ids (K covers kmax
    plus every column set aside), and the log-probabilities at the source's words. p is computed exactly
    as the dense one is, for these cells only."""

    def __init__(self, top_logp: np.ndarray, top_ids: np.ndarray, src_logp: np.ndarray, p_gen: np.ndarray) -> None:
        self.top_ids, self.src_logp, self.p_gen = top_ids, src_logp, p_gen
        self.top_p = _vocab_probs(top_logp, p_gen)

    def at(self, rows: np.ndarray, cols: np.ndarray, positions: np.ndarray) -> np.ndarray:
        p = np.exp(self.src_logp[rows, positions])
        p *= self.p_gen[rows]
        return p

    def best(self, kmax: int, rows: np.ndarray, cols: np.ndarray, blocked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p, ids = self.top_p, self.top_ids
        stride = int(max(ids.max(initial=0), cols.max(initial=0))) + 1
        where = np.arange(len(ids))[:, None] * stride + ids
        p[np.isin(where, rows * stride + cols) | (blocked[:, None] & (ids == UNK_ID))] = -np.inf
        top, best = _lowest_first(ids, p, kmax)
        return top, best.astype(np.float64)


def _copies(m: _Members, seq: np.ndarray, attn: np.ndarray, p_gen: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Every copy contribution, row by row and in source order: (row, memory position, extended id,
    (1 - p_gen) * attention)."""
    r, j = np.nonzero(m.copy_mask[seq])
    return r, j, m.copy_ids[seq[r], j], ((1 - p_gen)[:, None] * attn)[r, j]


def _copy_logp(m: _Members, seq: np.ndarray, logp_vocab: np.ndarray, attn: np.ndarray, p_gen: np.ndarray) -> np.ndarray:
    """(R, W) float64 log of the whole copy distribution over each row's own width (-inf past it), <unk>
    blocked where asked: what `_best_with_copying` selects from, written out."""
    rows, v = logp_vocab.shape
    p = np.zeros((rows, int(m.width.max())), dtype=np.float64)
    p[:, :v] = _vocab_probs(logp_vocab, p_gen)
    r, _, cols, weights = _copies(m, seq, attn, p_gen)
    np.add.at(p, (r, cols), weights)
    logp = np.log(p + EPS)
    logp[np.arange(logp.shape[1])[None, :] >= m.width[seq][:, None]] = -np.inf
    logp[m.block_unk[seq], UNK_ID] = -np.inf
    return logp


def _best_with_copying(m: _Members, seq: np.ndarray, kmax: int, vocab: _Vocabulary, attn: np.ndarray,
                       p_gen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Each row's kmax best tokens of the copy distribution p_gen * P_vocab + (1 - p_gen) * attention
    scattered onto the source's extended ids, and their log-probabilities log(p + EPS), best first, ties
    to the lower id; <unk> blocked where asked.

    Only the candidates' logs are taken (log is monotonic, and a vocabulary is thousands wide): the best
    of the vocabulary part outside the copied columns, and every copied column, whose probability is the
    vocabulary's plus each copy contribution added in source order, as a dense scatter would add them."""
    rows = len(seq)
    r, j, cols, weights = _copies(m, seq, attn, p_gen)
    stride = int(m.width.max()) + 1
    # each (row, column) a copy adds to, once; `first` is where it first occurs
    cells, first, slot = np.unique(r * stride + cols, return_index=True, return_inverse=True)
    cell_row, cell_col = np.divmod(cells, stride)
    in_vocab = cell_col < m.vocab_size
    sums = np.zeros(len(cells))
    sums[in_vocab] = vocab.at(cell_row[in_vocab], cell_col[in_vocab], j[first][in_vocab])
    np.add.at(sums, slot, weights)
    blocked = m.block_unk[seq]
    sums[blocked[cell_row] & (cell_col == UNK_ID)] = -np.inf
    # the copied columns are candidates with their sums below, not from the vocabulary's best
    top, top_p = vocab.best(kmax, cell_row[in_vocab], cell_col[in_vocab], blocked)
    # Candidates: the vocabulary's best, then each row's copied columns (padded with -inf).
    per_row = np.bincount(cell_row, minlength=rows)
    width = int(per_row.max()) if len(cells) else 0
    pos = np.arange(len(cells)) - np.concatenate([[0], np.cumsum(per_row)[:-1]])[cell_row]
    copy_col, copy_p = np.zeros((rows, width), dtype=np.int64), np.full((rows, width), -np.inf)
    copy_col[cell_row, pos], copy_p[cell_row, pos] = cell_col, sums
    ids = np.concatenate([top, copy_col], axis=1)
    probs = np.concatenate([top_p, copy_p], axis=1)
    logp = np.full(probs.shape, -np.inf)
    finite = probs > -np.inf  # blocked <unk> and padding stay -inf
    logp[finite] = np.log(probs[finite] + EPS)
    return _lowest_first(ids, logp, kmax)


def _stops(q: SearchQuery, live_logp: np.ndarray, done: list[_Done]) -> bool:
    """Whether a decoding's search is over, given its live hypotheses' log-probabilities and finished ones."""
    if q.stop == "k_finished":
        return len(done) >= q.beam_size
    if len(done) < q.n_best:
        return False
    # A live hypothesis's log-prob only falls, and its length penalty is at most lp(max_length): this
    # bounds its final score from above (the coverage penalty is never positive).
    best_possible = float(live_logp.max()) / ((5 + q.max_length + 1) / 6) ** q.alpha
    return sorted((d.score for d in done), reverse=True)[q.n_best - 1] >= best_possible


def _pad_to(a: np.ndarray, width: int) -> np.ndarray:
    """(R, S) padded with zeros (or cut) to (R, width)."""
    return a[:, :width] if a.shape[1] >= width else np.pad(a, ((0, 0), (0, width - a.shape[1])))


def beam_search(graph: StepGraph, enc: Encoded, queries: list[SearchQuery], vocab_size: int) -> list[list[Hypothesis]]:
    """n-best hypotheses per query, best first."""
    decodings = start_decodings(enc, queries)
    StepBatch(graph, vocab_size).run(decodings)
    return [d.result() for d in decodings]
