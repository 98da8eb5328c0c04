"""Speech model: padding-invariant listener, batching, character error rate, a model that can learn."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from models.speech.chars import CHARS, decode_ids, encode_text
from models.speech.features import REDUCTION, padded_frames
from models.speech.training.data import Corpus
from models.speech.training.metrics import cer, edit_distance
from models.speech.training.model import LAS, LASConfig
from models.speech.training.train import groups, make_batch, spec_augment

TINY = LASConfig(listener=16, speller=24, emb=8, attn=8, dropout=0.0)


def corpus(lengths: list[int], texts: list[str]) -> Corpus:
    rng = np.random.default_rng(0)
    clips = [rng.standard_normal(80 * (n - 1)).astype(np.float32) for n in lengths]
    return Corpus.from_audio(clips, texts, ["test"] * len(texts))


def test_text_round_trip_and_unknown_characters() -> None:
    assert decode_ids(encode_text("it's nine")) == "it's nine"
    assert encode_text("é")[0] == CHARS.index("<unk>")


CASES = [("", "", 0), ("abc", "abc", 0), ("abc", "abd", 1), ("", "ab", 2), ("kitten", "sitting", 3)]


@pytest.mark.parametrize(("a", "b", "d"), CASES)
def test_edit_distance(a: str, b: str, d: int) -> None:
    assert edit_distance(a, b) == d == edit_distance(b, a)


def test_cer_is_corpus_level() -> None:
    assert cer(["abc", "x"], ["abd", "xyz"]) == pytest.approx(3 / 6)


def test_listener_batched_equals_single() -> None:
    torch.manual_seed(0)
    model = LAS(TINY).eval()
    c = corpus([37, 16, 9], ["one", "two", "three"])
    x, lengths, _, _ = make_batch(c, [0, 1, 2], None, 0)
    assert x.shape[1] == padded_frames(37) and x.shape[1] % REDUCTION == 0
    memory, _, h0, mem_len = model.listener(x, lengths)
    assert mem_len.tolist() == [-(-n // REDUCTION) for n in (37, 16, 9)]
    for row in range(3):
        xs, ls, _, _ = make_batch(c, [row], None, 0)
        m1, _, h1, l1 = model.listener(xs, ls)
        n = int(l1[0])
        torch.testing.assert_close(m1[0, :n], memory[row, :n], atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(h1[0], h0[row], atol=1e-6, rtol=1e-5)


def test_groups_respect_the_frame_budget_and_cover_everything() -> None:
    c = corpus([10, 50, 30, 80, 20, 60], list("abcdef"))
    gs = groups(np.diff(c.offsets), max_frames=160, seed=3)
    assert sorted(i for g in gs for i in g) == list(range(6))
    lengths = np.diff(c.offsets)
    assert all(len(g) == 1 or padded_frames(int(max(lengths[g]))) * len(g) <= 160 for g in gs)
    assert groups(np.diff(c.offsets), 160, seed=3) == gs


def test_spec_augment_masks_without_changing_shape() -> None:
    f = np.ones((100, 40), dtype=np.float32)
    g = spec_augment(f, random.Random(0), 2)
    assert g.shape == f.shape and (g == 0).any() and (f == 1).all()


def test_a_tiny_model_learns_two_utterances() -> None:
    torch.manual_seed(0)
    model = LAS(TINY)
    c = corpus([24, 40], ["one", "two two"])
    batch = make_batch(c, [0, 1], None, 0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = model(*batch).item()
    for _ in range(60):
        loss = model(*batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first


def test_every_sequence_vocabulary_starts_with_the_special_symbols_at_their_ids() -> None:
    """The beam search (models/beam.py) reads <s>, </s> and <unk> at the ids models/tokens.py gives them."""
    from models.caption.training.data import build_vocab
    from models.tokens import BOS_ID, EOS_ID, SPECIALS, UNK_ID
    from models.translate.vocab import Vocab

    assert (SPECIALS[BOS_ID], SPECIALS[EOS_ID], SPECIALS[UNK_ID]) == ("<s>", "</s>", "<unk>")
    for vocab in (CHARS, Vocab.build([["a", "b"]], min_freq=1).itos, build_vocab(["a dog runs"], 1)):
        assert tuple(vocab[:4]) == SPECIALS
