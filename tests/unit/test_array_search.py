"""The array beam search (models/beam.py) gives exactly what the per-hypothesis search it replaced gives
(tests/reference_search.py): same ids, scores, attention, copy weights and token log-probabilities, for
every search setting, with many ties, copying or not, in one batch or joining a running one, and whether
it reads the whole distribution or only the candidates a ranking decoder step gives it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from export.common import TopKStep
from models.beam import Encoded, Hypothesis, SearchQuery, StepBatch, beam_search, start_decodings, top_k
from models.tokens import EOS_ID
from models.translate.search import encode
from tests.helpers import TRANSLATE_DE
from tests.reference_search import _top_k, reference_beam_search
from tests.unit.test_translate import EagerTranslate

V = 12


class TiedGraph:
    """A deterministic decoder whose log-probabilities are rounded to one decimal (so candidates tie often)
    and depend only on the row's own inputs (so batching cannot change them)."""

    def __init__(self, seed: int, eos_bias: float, vocab: int = V) -> None:
        rng = np.random.default_rng(seed)
        self.emb, self.mix = rng.normal(size=(vocab, 3)), rng.normal(size=(3, vocab))
        self.eos_bias = eos_bias

    def step(self, y, h, ctx, memory, keys, mask):  # type: ignore[no-untyped-def]
        h2 = np.tanh(h + self.emb[y])
        logits = (h2 @ self.mix).round(1)
        logits[:, EOS_ID] += self.eos_bias
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        scores = np.where(mask, (keys @ h2[:, :, None])[..., 0].round(1), -np.inf)
        attn = np.exp(scores - scores.max(axis=1, keepdims=True))
        attn /= attn.sum(axis=1, keepdims=True)
        p_gen = 1 / (1 + np.exp(-h2[:, 0]))
        return [logp.astype(np.float32), attn.astype(np.float32), p_gen.astype(np.float32), h2.astype(np.float32), ctx]


class RankingTiedGraph(TiedGraph):
    """TiedGraph that also ranks its vocabulary as an exported decoder step does (export/common.py's
    TopKStep): each row's K best, ties to the lower id, and the log-probabilities at given ids."""

    in_graph_top_k = True

    def __init__(self, seed: int, eos_bias: float, vocab: int = V) -> None:
        super().__init__(seed, eos_bias, vocab)
        self.ranked_steps = 0

    def step_top(self, y, h, ctx, memory, keys, mask, vocab_ids, k):  # type: ignore[no-untyped-def]
        logp, attn, p_gen, h2, ctx = self.step(y, h, ctx, memory, keys, mask)
        top = np.argsort(-logp, axis=1, kind="stable")[:, : len(k)]
        self.ranked_steps += 1
        return [np.take_along_axis(logp, top, axis=1), top, np.take_along_axis(logp, vocab_ids, axis=1), attn, p_gen, h2, ctx]


def encoded(seed: int, lengths: list[int]) -> Encoded:
    rng = np.random.default_rng(seed)
    width = max(lengths)
    memory = rng.normal(size=(len(lengths), width, 2)).astype(np.float32)
    keys = rng.normal(size=(len(lengths), width, 3)).astype(np.float32)
    return Encoded(memory, keys, rng.normal(size=(len(lengths), 3)).astype(np.float32), np.array(lengths))


def assert_same(got: list[list[Hypothesis]], want: list[list[Hypothesis]]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert [h.ids for h in g] == [h.ids for h in w]
        assert [h.finished for h in g] == [h.finished for h in w]
        assert [h.score for h in g] == pytest.approx([h.score for h in w], abs=1e-9)
        assert [h.log_prob for h in g] == pytest.approx([h.log_prob for h in w], abs=1e-9)
        for a, b in zip(g, w, strict=True):
            assert a.copy_prob == b.copy_prob and a.token_logp == b.token_logp
            assert len(a.attention) == len(b.attention)
            assert all(np.array_equal(x, y) for x, y in zip(a.attention, b.attention, strict=True))


def queries(rng: np.random.Generator, lengths: list[int], copy: bool, vocab: int = V) -> list[SearchQuery]:
    out = []
    for n in lengths:
        beam = int(rng.integers(1, 7))
        copy_ids = tuple(int(i) for i in rng.integers(4, vocab + 4, size=n)) if copy else None
        out.append(SearchQuery(beam_size=beam, n_best=int(rng.integers(1, beam + 1)), max_length=int(rng.integers(1, 12)),
                               alpha=float(rng.choice([0.0, 0.4, 1.0])), beta=float(rng.choice([0.0, 0.2])),
                               copy_ids=copy_ids, block_unk=bool(rng.random() < 0.3),
                               stop=str(rng.choice(["k_finished", "bound"]))))  # type: ignore[arg-type]  # fmt: skip
    return out


@pytest.mark.parametrize("vocab", [V, 40])  # 12: every column is a candidate; 40: only the best are (as in real models)
@pytest.mark.parametrize("copy", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_array_search_equals_the_per_hypothesis_search(seed: int, copy: bool, vocab: int) -> None:
    rng = np.random.default_rng(seed)
    lengths = [int(n) for n in rng.integers(1, 7, size=int(rng.integers(1, 6)))]
    graph, enc = TiedGraph(seed, float(rng.choice([-1.0, 0.0, 1.5])), vocab), encoded(seed, lengths)
    qs = queries(rng, lengths, copy, vocab)
    assert_same(beam_search(graph, enc, qs, vocab), reference_beam_search(graph, enc, qs, vocab))


@pytest.mark.parametrize("copy", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_reading_only_the_ranked_candidates_changes_nothing(seed: int, copy: bool) -> None:
    vocab = 60  # wide enough for the search to ask for ranked candidates (at most half the vocabulary)
    rng = np.random.default_rng(seed)
    lengths = [int(n) for n in rng.integers(1, 7, size=int(rng.integers(1, 6)))]
    graph, enc = RankingTiedGraph(seed, float(rng.choice([-1.0, 0.0, 1.5])), vocab), encoded(seed, lengths)
    qs = queries(rng, lengths, copy, vocab)
    got = beam_search(graph, enc, qs, vocab)
    assert graph.ranked_steps > 0  # the ranked path ran
    assert_same(got, reference_beam_search(graph, enc, qs, vocab))


@pytest.mark.parametrize("beam_size", [1, 3, 5])
@pytest.mark.parametrize("stop", ["k_finished", "bound"])
def test_same_as_before_on_a_tiny_translation_model(translate_checkpoint: Path, beam_size: int, stop: str) -> None:
    g = EagerTranslate(translate_checkpoint)
    texts = [*TRANSLATE_DE, "ein mann .", "zwei hunde spielen im park und eine frau liest ein buch ."]
    qs = [g.query(t, beam_size=beam_size, n_best=min(2, beam_size), max_length=14, alpha=0.4 * (i % 2), beta=0.2 * (i % 3 == 0),
                  block_unk=i % 2 == 0).search() for i, t in enumerate(texts)]  # fmt: skip
    qs = [SearchQuery(**{**q.__dict__, "stop": stop}) for q in qs]
    enc, _ = encode(g, [g.query(t) for t in texts])
    want = reference_beam_search(g, enc, qs, len(g.tgt))
    assert_same(beam_search(g, enc, qs, len(g.tgt)), want)
    ranking = RankingTranslate(translate_checkpoint)
    assert_same(beam_search(ranking, enc, qs, len(g.tgt)), want)
    # the ranked path runs where candidates are at most half the tiny vocabulary (beam 5 falls back)
    assert (ranking.ranked_steps > 0) == (beam_size < 5)


class RankingTranslate(EagerTranslate):
    """The tiny model's decoder step as exported: TopKStep around it (the search reads only its ranks)."""

    in_graph_top_k = True

    def __init__(self, checkpoint: Path) -> None:
        super().__init__(checkpoint)
        self.ranking, self.ranked_steps = TopKStep(self.step_module).eval(), 0

    def step_top(self, *arrays: np.ndarray) -> list[np.ndarray]:
        self.ranked_steps += 1
        _, attn, p_gen, h, ctx, top_logp, top_ids, src_logp = self._run(self.ranking, arrays)
        return [top_logp, top_ids, src_logp, attn, p_gen, h, ctx]


def test_decodings_that_join_a_running_batch_get_their_unbatched_result() -> None:
    rng = np.random.default_rng(7)
    graph, lengths = TiedGraph(7, eos_bias=0.0), [int(n) for n in rng.integers(1, 7, size=9)]
    enc, qs = encoded(7, lengths), queries(rng, lengths, copy=True)
    alone = [reference_beam_search(graph, Encoded(enc.memory[i : i + 1, : lengths[i]], enc.keys[i : i + 1, : lengths[i]],
                                                  enc.h0[i : i + 1], enc.lengths[i : i + 1]), [q], V)[0]
             for i, q in enumerate(qs)]  # fmt: skip
    decodings = start_decodings(enc, qs)
    batch, waiting, step = StepBatch(graph, V), list(range(len(qs))), 0
    while waiting or batch.active:
        if waiting and step % 2 == 0:
            batch.add([decodings[i] for i in waiting[:2]])
            waiting = waiting[2:]
        batch.step()
        step += 1
    assert_same([d.result() for d in decodings], alone)


def test_top_k_is_a_stable_sort_of_each_row_ties_and_minus_inf_included() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        x = rng.normal(size=(4, 40)).round(1)  # rounding makes many ties
        x[rng.random(x.shape) < 0.1] = -np.inf
        k = int(rng.integers(1, 12))
        want = np.stack([np.argsort(-row, kind="stable")[:k] for row in x])
        np.testing.assert_array_equal(top_k(x, k), want)
        np.testing.assert_array_equal(_top_k(x, k), want)
