"""SST splits, the word vocabulary, and labels in the order the model reads nodes.

Words are lower-cased (SST's casing carries little sentiment and splits the small vocabulary). Words seen
once in train are kept; unknown words at run time map to <unk>, whose embedding is trained by replacing
train words by <unk> with a small probability (word dropout), so it means "some word I have not seen".
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from models.sentiment.trees import PTB_ESCAPES, Tree, read_trees

UNK = "<unk>"
UNK_ID = 0
LABELS = ("very negative", "negative", "neutral", "positive", "very positive")


def normalize(word: str) -> str:
    return PTB_ESCAPES.get(word, word).replace("\\/", "/").lower()


def read_split(data_dir: Path, split: str) -> list[Tree]:
    return read_trees(str(data_dir / "sst" / "trees" / f"{split}.txt"))


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
        return [self.stoi.get(normalize(w), UNK_ID) for w in words]

    def to_json(self) -> str:
        return json.dumps(self.itos[1:])

    @classmethod
    def from_json(cls, text: str) -> Vocab:
        return cls(json.loads(text))


def node_labels(tree: Tree) -> list[int]:
    """Gold labels of every node, post-order (as Tree.nodes())."""
    return [int(n.label) for n in tree.nodes()]  # type: ignore[arg-type]


# PTB-style tokens, as in SST: contractions split off ("does n't", "it 's"), punctuation on its own.
_TOKEN = re.compile(r"n't\b|'(?:s|re|ve|ll|d|m)\b|[A-Za-z0-9]+(?:[-.][A-Za-z0-9]+)*(?=n't\b)|"
                    r"[A-Za-z0-9]+(?:[-.][A-Za-z0-9]+)*|\.\.\.|--|[^\sA-Za-z0-9]", re.IGNORECASE)  # fmt: skip


def tokenize_text(text: str) -> list[str]:
    """Plain text -> SST-like tokens: "It doesn't work." -> ["It", "does", "n't", "work", "."]."""
    return _TOKEN.findall(text)
