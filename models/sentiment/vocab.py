"""The word vocabulary, plain-text tokenization, and the five sentiment labels: what serving needs.

Words are lower-cased (SST's casing carries little sentiment and splits the small vocabulary). Words seen
once in train are kept; unknown words at run time map to <unk>, whose embedding is trained by replacing
train words by <unk> with a small probability (word dropout), so it means "some word I have not seen".
"""

from __future__ import annotations

import json
import re
from collections import Counter

from models.sentiment.trees import PTB_ESCAPES, Tree
from models.tokens import UNK, WORD_UNK_ID

LABELS = ("very negative", "negative", "neutral", "positive", "very positive")


def normalize(word: str) -> str:
    return PTB_ESCAPES.get(word, word).replace("\\/", "/").lower()


class Vocab:
    def __init__(self, words: list[str]) -> None:
        self.itos = [UNK, *words]
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    @classmethod
    def build(cls, trees: list[Tree], min_freq: int = 1) -> Vocab:
        counts = Counter(normalize(w) for t in trees for w in t.leaves())
        return cls(sorted((w for w, n in counts.items() if n >= min_freq), key=lambda w: (-counts[w], w)))

    def ids(self, words: list[str]) -> list[int]:
        return [self.stoi.get(normalize(w), WORD_UNK_ID) for w in words]

    def to_json(self) -> str:
        return json.dumps(self.itos[1:])

    @classmethod
    def from_json(cls, text: str) -> Vocab:
        return cls(json.loads(text))


# PTB-style tokens, as in SST: contractions split off ("does n't", "it 's"), punctuation on its own.
_TOKEN = re.compile(r"n't\b|'(?:s|re|ve|ll|d|m)\b|[A-Za-z0-9]+(?:[-.][A-Za-z0-9]+)*(?=n't\b)|"
                    r"[A-Za-z0-9]+(?:[-.][A-Za-z0-9]+)*|\.\.\.|--|[^\sA-Za-z0-9]", re.IGNORECASE)  # fmt: skip


def tokenize_text(text: str) -> list[str]:
    """Plain text -> SST-like tokens: "It doesn't work." -> ["It", "does", "n't", "work", "."]."""
    return _TOKEN.findall(text)
