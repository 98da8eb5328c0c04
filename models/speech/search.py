"""Speech decoding: the listener once per batch of utterances, then the shared beam search over characters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from models.beam import Encoded, Hypothesis, SearchQuery, StepGraph, beam_search
from models.speech.chars import CHARS
from models.speech.features import padded_frames


class SpeechGraphs(StepGraph, Protocol):
    def encode(self, feats: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
        """feats (B, T, n_mels) float32 with T a multiple of 8, lengths (B,) -> memory, keys, h0, mem_len."""
        ...


@dataclass(frozen=True)
class SpeechQuery:
    feats: np.ndarray  # (frames, n_mels) log-mel features of one utterance
    beam_size: int = 1
    n_best: int = 1
    max_length: int = 200  # characters, </s> excluded


def decode(graphs: SpeechGraphs, queries: list[SpeechQuery]) -> list[list[Hypothesis]]:
    """n-best character hypotheses per utterance, best first; utterances of any length batch together."""
    return beam_search(graphs, *encode(graphs, queries), len(CHARS))


def encode(graphs: SpeechGraphs, queries: list[SpeechQuery]) -> tuple[Encoded, list[SearchQuery]]:
    """The listener over a batch of utterances (padded, with lengths), and each one's search settings."""
    width = padded_frames(max(len(q.feats) for q in queries))
    feats = np.zeros((len(queries), width, queries[0].feats.shape[1]), dtype=np.float32)
    for i, q in enumerate(queries):
        feats[i, : len(q.feats)] = q.feats
    lengths = np.array([len(q.feats) for q in queries], dtype=np.int64)
    memory, keys, h0, mem_len = graphs.encode(feats, lengths)
    search = [SearchQuery(q.beam_size, q.n_best, q.max_length, stop="bound") for q in queries]
    return Encoded(memory, keys, h0, mem_len), search
