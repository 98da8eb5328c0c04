"""Subword units for /translate: byte-pair encoding (Sennrich et al. 2016) over Moses tokens.

Learned by sentencepiece (the `train` extra: `Subwords.learn`) on the tokenized training text, German and
English together, so that a name is cut into the same pieces on both sides and the copy mechanism can bring
it through piece by piece. A word's first piece starts with WORD_START, as sentencepiece writes it
("Wojciech" -> "▁W", "o", "j", "c", "ie", "ch"); joining pieces gives back the words.

Serving applies the learned merges here, in plain Python (the same pieces as sentencepiece's encoder:
tests/unit/test_subwords.py), so the server needs no tokenizer library. A character training never saw
stays a piece of its own: the encoder reads it as <unk> and the decoder can still copy it.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

WORD_START = "▁"  # sentencepiece's word-boundary mark (U+2581)


class Subwords:
    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores  # every piece of two or more characters, and its merge priority (higher merges first)
        self._cache: dict[str, list[str]] = {}

    def split_word(self, word: str) -> list[str]:
        """One word's pieces: start from its characters, then merge the adjacent pair whose join has the
        highest score (leftmost on ties) until no join is a piece (sentencepiece's BPE encoder)."""
        if (hit := self._cache.get(word)) is not None:
            return hit
        symbols = [WORD_START, *word]
        while len(symbols) > 1:
            joins = [(self.scores.get(a + b), -i) for i, (a, b) in enumerate(itertools.pairwise(symbols))]
            best = max((j for j in joins if j[0] is not None), default=None)
            if best is None:
                break
            i = -best[1]
            symbols[i : i + 2] = [symbols[i] + symbols[i + 1]]
        if len(self._cache) < 200_000:  # a bound, since serving sees arbitrary words
            self._cache[word] = symbols
        return symbols

    def split(self, words: Iterable[str]) -> list[str]:
        return [p for w in words for p in self.split_word(w)]

    def to_json(self) -> str:
        return json.dumps({"kind": "bpe", "scores": self.scores}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Subwords:
        data = json.loads(text)
        if data.get("kind") != "bpe":
            raise ValueError(f"unknown subword model {data.get('kind')!r}")
        return cls({k: float(v) for k, v in data["scores"].items()})

    def save(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Subwords) and self.scores == other.scores

    __hash__ = None  # type: ignore[assignment]  # mutable cache inside; compared by merges only

    @classmethod
    def learn(cls, sentences: Iterable[Sequence[str]], size: int) -> Subwords:
        """BPE with `size` pieces (characters included) learned by sentencepiece from tokenized sentences
        (deterministic: BPE training draws nothing at random)."""
        import sentencepiece as spm  # the train extra: serving only applies what was learned

        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=(" ".join(s) for s in sentences), model_writer=model, model_type="bpe",
            vocab_size=size, character_coverage=1.0, normalization_rule_name="identity", split_by_whitespace=True,
            add_dummy_prefix=True, remove_extra_whitespaces=False, bos_id=-1, eos_id=-1, unk_id=0,
            minloglevel=2, num_threads=1,
        )  # fmt: skip
        sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
        pieces = (sp.id_to_piece(i) for i in range(sp.get_piece_size()) if not (sp.is_unknown(i) or sp.is_control(i)))
        return cls({p: sp.get_score(sp.piece_to_id(p)) for p in pieces if len(p) > 1})


def join(pieces: Sequence[str]) -> list[str]:
    """Pieces -> words: a piece starting with WORD_START opens a word, the others continue the last one."""
    words: list[str] = []
    for p in pieces:
        if p.startswith(WORD_START) or not words:
            words.append(p.removeprefix(WORD_START))
        else:
            words[-1] += p
    return words


def words_of(tokens: Sequence[str], subwords: Subwords | None) -> list[str]:
    """A model's output tokens as words: pieces joined for a subword model, as they are for a word model."""
    return join(tokens) if subwords is not None else list(tokens)


def word_index(pieces: Sequence[str]) -> list[int]:
    """The word (as `join` numbers them) each piece belongs to."""
    index, word = [], -1
    for p in pieces:
        if p.startswith(WORD_START) or word < 0:
            word += 1
        index.append(word)
    return index


def pool_attention(attn: np.ndarray, out_words: Sequence[int], src_words: Sequence[int]) -> np.ndarray:
    """Attention over source pieces, one row per output piece -> one row per output word over source words:
    a word's row is the mean of its pieces' rows, each summed over the pieces of every source word, so
    rows still sum to one. Rows past len(out_words) (the end-of-sentence step) stay rows of their own."""
    src = np.zeros((attn.shape[1], max(src_words) + 1))
    src[np.arange(attn.shape[1]), src_words] = 1.0
    by_src = attn.astype(np.float64) @ src  # (rows, source words)
    n_words = max(out_words, default=-1) + 1
    groups = [*out_words, *range(n_words, n_words + attn.shape[0] - len(out_words))]
    out = np.zeros((max(groups) + 1, by_src.shape[1]))
    np.add.at(out, groups, by_src)
    return out / np.bincount(groups)[:, None]
