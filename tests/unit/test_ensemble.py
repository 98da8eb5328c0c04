"""Decoding several translation models as one (models/ensemble.py): one member is that member, two copies of
a model are that model, and two different members give exactly the average of their output distributions."""

from __future__ import annotations

import numpy as np
import pytest

from models.beam import beam_search
from models.ensemble import EnsembleGraphs
from models.translate.search import encode
from tests.helpers import TRANSLATE_DE, tiny_translate_checkpoint
from tests.unit.test_translate import EagerTranslate


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory) -> list[EagerTranslate]:
    root = tmp_path_factory.mktemp("ensemble")
    return [EagerTranslate(tiny_translate_checkpoint(root / f"m{seed}.safetensors", seed=seed)) for seed in (0, 1)]


def search(graphs: object, g: EagerTranslate, beam: int) -> list:  # type: ignore[type-arg]
    queries = [g.query(t, beam_size=beam, n_best=min(2, beam), max_length=12, alpha=0.4) for t in TRANSLATE_DE]
    enc, qs = encode(graphs, queries)  # type: ignore[arg-type]
    return beam_search(graphs, enc, qs, len(g.tgt))  # type: ignore[arg-type]


def assert_close(got: list, want: list) -> None:  # type: ignore[type-arg]
    """Same ids and finished flags; scores within 1e-5 (the ensemble's float64 average rounds differently)."""
    for g, w in zip(got, want, strict=True):
        assert [h.ids for h in g] == [h.ids for h in w] and [h.finished for h in g] == [h.finished for h in w]
        assert [h.score for h in g] == pytest.approx([h.score for h in w], abs=1e-5)


@pytest.mark.parametrize("beam", [1, 3])
def test_one_member_and_two_copies_decode_as_the_model_alone(members: list[EagerTranslate], beam: int) -> None:
    alone = search(members[0], members[0], beam)
    assert_close(search(EnsembleGraphs([members[0]]), members[0], beam), alone)
    assert_close(search(EnsembleGraphs([members[0], members[0]]), members[0], beam), alone)


def test_two_members_step_the_average_of_their_output_distributions(members: list[EagerTranslate]) -> None:
    a, b = members
    queries = [a.query(t) for t in TRANSLATE_DE[:3]]
    ens = EnsembleGraphs([a, b])
    enc, _ = encode(ens, queries)  # type: ignore[arg-type]
    mask = np.arange(enc.memory.shape[1])[None, :] < enc.lengths[:, None]
    y = np.array([1, 5, 7])
    ctx = np.zeros((3, enc.memory.shape[2]), np.float32)
    logp, attn, g, h, ctx_out = ens.step(y, enc.h0, ctx, enc.memory, enc.keys, mask)
    members_out = []
    mems, keyss, h0s, ctxs = ens._split(enc.memory, 0), ens._split(enc.keys, 1), ens._split(enc.h0, 2), ens._split(ctx, 0)
    for i, m in enumerate(members):
        members_out.append(m.step(y, h0s[i], ctxs[i], mems[i], keyss[i], mask))
    gi = np.stack([o[2] for o in members_out]).astype(np.float64)
    vocab_part = np.mean([gi[i][:, None] * np.exp(o[0].astype(np.float64)) for i, o in enumerate(members_out)], axis=0)
    copy_part = np.mean([(1 - gi[i])[:, None] * o[1].astype(np.float64) for i, o in enumerate(members_out)], axis=0)
    np.testing.assert_allclose(g[:, None] * np.exp(logp.astype(np.float64)), vocab_part, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose((1 - g)[:, None] * attn, copy_part, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(np.exp(logp.astype(np.float64)).sum(axis=1), 1, atol=1e-4)  # a distribution
    np.testing.assert_allclose(attn.sum(axis=1), 1, atol=1e-4)
    # each member's state comes back where it went in
    np.testing.assert_array_equal(h, np.concatenate([o[3] for o in members_out], axis=-1))
    np.testing.assert_array_equal(ctx_out, np.concatenate([o[4] for o in members_out], axis=-1))


def test_two_different_members_decode(members: list[EagerTranslate]) -> None:
    out = search(EnsembleGraphs(members), members[0], 3)
    assert len(out) == len(TRANSLATE_DE) and all(len(hyps) == 2 for hyps in out)
    assert all(len(h.attention) == len(h.ids) + h.finished for hyps in out for h in hyps)


def test_members_need_one_at_least() -> None:
    with pytest.raises(ValueError, match="at least one member"):
        EnsembleGraphs([])


@pytest.mark.parametrize("beam", [1, 3])
def test_the_fused_graph_decodes_as_the_members_side_by_side(members: list[EagerTranslate], beam: int) -> None:
    """export/ensemble.py's modules (what an ensemble export serves when every member is served) against the
    numpy average of the members' own steps: same hypotheses, scores within 1e-5."""
    from export.ensemble import EnsembleEncoder, EnsembleStep
    from tests.helpers import EagerGraphs

    steps = [m.step_module for m in members]
    widths = [(s.cell.input_size - s.embed.embedding_dim, s.query.out_features, s.cell.hidden_size) for s in steps]
    fused = EagerGraphs(EnsembleEncoder([m.encoder for m in members]), EnsembleStep(steps, widths))
    assert_close(search(fused, members[0], beam), search(EnsembleGraphs(members), members[0], beam))
