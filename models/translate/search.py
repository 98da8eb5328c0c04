"""Translation decoding: encode a batch of sentences once, then the shared beam search (models/beam.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from models.beam import Encoded, Hypothesis, SearchQuery, StepGraph, beam_search


class TranslateGraphs(StepGraph, Protocol):
    def encode(self, src: np.ndarray, src_len: np.ndarray) -> list[np.ndarray]:
        """src (B, S) int64, src_len (B,) -> memory (B, S, C), keys (B, S, A), h0 (B, Hd)."""
        ...


@dataclass(frozen=True)
class TranslateQuery:
    src: list[int]  # source vocabulary ids
    src_ext: list[int]  # the same words as ids in the target's extended vocabulary (for copying)
    beam_size: int = 1
    n_best: int = 1
    max_length: int = 100  # output tokens, </s> excluded
    alpha: float = 0.0  # length normalization exponent
    beta: float = 0.0  # coverage penalty weight
    block_unk: bool = False  # never generate <unk> (unknown source words get copied instead)

    def search(self) -> SearchQuery:
        return SearchQuery(self.beam_size, self.n_best, self.max_length, self.alpha, self.beta, tuple(self.src_ext),
                           self.block_unk)  # fmt: skip


def decode(graphs: TranslateGraphs, queries: list[TranslateQuery], vocab_size: int) -> list[list[Hypothesis]]:
    """n-best hypotheses per sentence, best first."""
    return beam_search(graphs, *encode(graphs, queries), vocab_size)


def encode(graphs: TranslateGraphs, queries: list[TranslateQuery]) -> tuple[Encoded, list[SearchQuery]]:
    """The encoder over a batch of sentences, and each one's search settings."""
    width = max(len(q.src) for q in queries)
    src = np.zeros((len(queries), width), dtype=np.int64)
    for i, q in enumerate(queries):
        src[i, : len(q.src)] = q.src
    lengths = np.array([len(q.src) for q in queries], dtype=np.int64)
    memory, keys, h0 = graphs.encode(src, lengths)
    return Encoded(memory, keys, h0, lengths), [q.search() for q in queries]
