"""Subwords: the plain-Python BPE encoder cuts words exactly as sentencepiece does, and pieces join back."""

from __future__ import annotations

import io

import numpy as np
import pytest

from models.translate.subwords import WORD_START, Subwords, join, pool_attention, word_index
from tests.helpers import TRANSLATE_DE, TRANSLATE_EN

spm = pytest.importorskip("sentencepiece")

MORE = [
    "Zwei junge Männer spielen Fußball auf einem Feld .",
    "Two young men are playing soccer on a field .",
    "Eine Frau mit einem roten Hut verkauft Blumen am Markt .",
    "A woman in a red hat sells flowers at the market .",
]
CORPUS = [s.split() for s in TRANSLATE_DE + TRANSLATE_EN] * 3 + [s.split() for s in MORE]


@pytest.fixture(scope="module")
def learned() -> Subwords:
    return Subwords.learn(CORPUS, size=60)


def sentencepiece_pieces(words: list[str]) -> list[str]:
    """What sentencepiece's own encoder makes of the words, from a model trained as Subwords.learn trains."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=(" ".join(s) for s in CORPUS), model_writer=model, model_type="bpe", vocab_size=60,
        character_coverage=1.0, normalization_rule_name="identity", split_by_whitespace=True, add_dummy_prefix=True,
        remove_extra_whitespaces=False, bos_id=-1, eos_id=-1, unk_id=0, minloglevel=2, num_threads=1,
    )  # fmt: skip
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    return list(sp.encode_as_pieces(" ".join(words)))


def test_pieces_match_sentencepiece_and_join_back(learned: Subwords) -> None:
    for words in CORPUS:
        pieces = learned.split(words)
        assert pieces == sentencepiece_pieces(words)
        assert join(pieces) == words
        assert word_index(pieces)[-1] == len(words) - 1
    assert any(len(learned.split_word(w)) > 1 for s in CORPUS for w in s)  # some words do get cut


def test_unseen_characters_stay_pieces_and_the_model_round_trips(learned: Subwords) -> None:
    pieces = learned.split(["Małgorzata", "spielt"])
    assert join(pieces) == ["Małgorzata", "spielt"] and "ł" in pieces
    assert Subwords.from_json(learned.to_json()) == learned
    assert pieces[0].startswith(WORD_START)


def test_pool_attention_sums_source_pieces_and_averages_output_pieces() -> None:
    # output words: [0, 0, 1] + one end-of-sentence row; source words: [0, 1, 1]
    attn = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.2, 0.3, 0.5], [0.0, 0.0, 1.0]])
    out = pool_attention(attn, [0, 0, 1], [0, 1, 1])
    np.testing.assert_allclose(out, [[0.5, 0.5], [0.2, 0.8], [0.0, 1.0]])
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
