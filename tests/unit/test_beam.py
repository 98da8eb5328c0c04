"""The shared beam search's stopping rules, on a fake decoder whose best answer ends late."""

from __future__ import annotations

import numpy as np

from models.beam import Encoded, SearchQuery, beam_search
from models.tokens import EOS_ID

V = 8


class LateEnding:
    """Token 5 three times, then </s>, is the best sequence (log-prob ~ -0.33); ending at once costs only
    log(0.04) per step, so short hypotheses crowd the beam, as with a character decoder."""

    def step(self, y, h, ctx, memory, keys, mask):
        t = h[:, 0].astype(int)
        p = np.full((len(y), V), 0.01)
        p[:, 5] = np.where(t < 3, 0.9, 0.01)
        p[:, EOS_ID] = np.where(t < 3, 0.04, 0.9)
        p /= p.sum(axis=1, keepdims=True)
        attn = np.ones((len(y), memory.shape[1])) / memory.shape[1]
        return [np.log(p), attn, np.ones(len(y)), h + 1, ctx]


def search(**kw: object) -> list:
    enc = Encoded(np.zeros((1, 2, 4)), np.zeros((1, 2, 4)), np.zeros((1, 3)), np.array([2]))
    return beam_search(LateEnding(), enc, [SearchQuery(max_length=10, **kw)], V)[0]  # type: ignore[arg-type]


def test_bound_stopping_finds_the_late_ending_best_sequence() -> None:
    greedy = search(beam_size=1)[0]
    assert greedy.ids == [5, 5, 5] and greedy.finished
    bound = search(beam_size=2, n_best=2, stop="bound")
    assert bound[0].ids == [5, 5, 5] and bound[0].log_prob == greedy.log_prob
    assert bound[0].score >= bound[1].score
    eager = search(beam_size=2, stop="k_finished")[0]  # stops once two short ones have ended
    assert eager.log_prob < greedy.log_prob


def test_bound_with_one_beam_is_greedy() -> None:
    assert search(beam_size=1, stop="bound")[0].ids == search(beam_size=1)[0].ids
