"""Text as the memory network reads it (shared by training and serving): lower-case words, punctuation dropped,
and the vocabularies (story/question words; answers as bAbI writes them, one class each)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property

PAD, UNK = "<pad>", "<unk>"
WORD = re.compile(r"[a-z0-9']+")


def words(sentence: str) -> list[str]:
    """'Mary moved to the bathroom.' -> ['mary', 'moved', 'to', 'the', 'bathroom']."""
    return WORD.findall(sentence.lower())


@dataclass(frozen=True)
class Vocab:
    itos: list[str]  # words: <pad> (id 0) and <unk> (id 1) first

    @cached_property  # built once: every sentence of every request looks its words up here
    def stoi(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.itos)}

    def ids(self, tokens: list[str]) -> list[int]:
        stoi = self.stoi
        return [stoi.get(t, 1) for t in tokens]

    def __len__(self) -> int:
        return len(self.itos)


@dataclass(frozen=True)
class Vocabularies:
    words: Vocab
    answers: list[str]  # output classes, as bAbI writes them ("bathroom", "apple,football", "n,w")

    def to_json(self) -> str:
        return json.dumps({"words": self.words.itos, "answers": self.answers})

    @classmethod
    def from_json(cls, text: str) -> Vocabularies:
        d = json.loads(text)
        return cls(Vocab(d["words"]), d["answers"])
