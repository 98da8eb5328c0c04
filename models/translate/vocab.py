"""Word vocabularies, Moses tokenization, and the extended vocabulary used by the copy mechanism.

Source and target have their own vocabularies, built from the training split only. A source word
missing from the target vocabulary gets a per-sentence id V, V+1, ... (See et al. 2017), so the copy
distribution can put mass on it and the decoder can emit it even though it cannot generate it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from models.tokens import SPECIALS, UNK_ID


@dataclass
class Vocab:
    itos: list[str]

    def __post_init__(self) -> None:
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    @classmethod
    def build(cls, sentences: Iterable[list[str]], min_freq: int, max_size: int | None = None) -> Vocab:
        counts = Counter(w for s in sentences for w in s)
        # Most frequent first, ties alphabetical, so the same data always gives the same ids.
        words = sorted((w for w, n in counts.items() if n >= min_freq), key=lambda w: (-counts[w], w))
        return cls([*SPECIALS, *words[:max_size]])

    def ids(self, tokens: list[str]) -> list[int]:
        return [self.stoi.get(w, UNK_ID) for w in tokens]

    def to_json(self) -> str:
        return json.dumps(self.itos, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Vocab:
        return cls(json.loads(text))

    def save(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")


def extend(tokens: list[str], tgt: Vocab) -> tuple[list[int], list[str]]:
    """Source tokens -> ids in the target's extended vocabulary, and the out-of-vocabulary words.

    Known words get their target id; each distinct unknown word gets len(tgt) + its index in `oovs`.
    """
    oovs: list[str] = []
    ids = []
    for w in tokens:
        if w in tgt.stoi:
            ids.append(tgt.stoi[w])
        else:
            if w not in oovs:
                oovs.append(w)
            ids.append(len(tgt) + oovs.index(w))
    return ids, oovs


@lru_cache(maxsize=4)
def _moses(lang: str) -> tuple[object, object]:
    from sacremoses import MosesDetokenizer, MosesTokenizer

    return MosesTokenizer(lang), MosesDetokenizer(lang)


def tokenize(text: str, lang: str) -> list[str]:
    """Moses tokenization, case kept, no HTML escaping (so English output detokenizes back to normal text)."""
    tok, _ = _moses(lang)
    return tok.tokenize(text.strip(), escape=False)  # type: ignore[attr-defined]


def detokenize(tokens: list[str], lang: str) -> str:
    _, detok = _moses(lang)
    return detok.detokenize(tokens)  # type: ignore[attr-defined]
