"""Step-level batching: decodings that join a running batch mid-way get exactly their unbatched result."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.beam import StepBatch, start_decodings
from models.translate.search import decode, encode
from tests.helpers import TRANSLATE_DE
from tests.unit.test_translate import EagerTranslate


@pytest.mark.parametrize("beam_size", [1, 4])
def test_staggered_admission_gives_each_decoding_its_unbatched_result(translate_checkpoint: Path, beam_size: int) -> None:
    g = EagerTranslate(translate_checkpoint)
    texts = [*TRANSLATE_DE, "ein mann .", "zwei hunde spielen im park und eine frau liest ein buch ."]
    queries = [g.query(t, beam_size=beam_size, n_best=min(2, beam_size), max_length=12) for t in texts]
    alone = [decode(g, [q], len(g.tgt))[0] for q in queries]
    batch = StepBatch(g, len(g.tgt))
    waiting = list(range(len(queries)))
    results: dict[int, list] = {}
    step = 0
    while waiting or batch.active:
        if waiting and step % 2 == 0:  # admit one or two new inputs every other step, as requests arrive
            take, waiting = waiting[: 1 + step % 4 // 2], waiting[1 + step % 4 // 2 :]
            decodings = start_decodings(*encode(g, [queries[i] for i in take]))
            for i, d in zip(take, decodings, strict=True):
                d.tag = i  # type: ignore[attr-defined]
            batch.add(decodings)
        for d in batch.step():
            results[d.tag] = d.result()  # type: ignore[attr-defined]
        step += 1
    assert sorted(results) == list(range(len(queries)))
    for i, want in enumerate(alone):
        got = results[i]
        assert [h.ids for h in got] == [h.ids for h in want]
        assert [h.log_prob for h in got] == pytest.approx([h.log_prob for h in want], abs=1e-4)


def test_a_removed_decoding_frees_its_rows(translate_checkpoint: Path) -> None:
    g = EagerTranslate(translate_checkpoint)
    decodings = start_decodings(*encode(g, [g.query(t, beam_size=3, max_length=10) for t in TRANSLATE_DE[:3]]))
    batch = StepBatch(g, len(g.tgt))
    batch.add(decodings)
    batch.step()
    before = batch.rows
    batch.remove(decodings[1])
    assert batch.rows == before - decodings[1].live_rows and decodings[1] not in batch.active
