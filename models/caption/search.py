"""Caption decoding: the encoder once per batch of images, then the shared beam search over words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from models.beam import Encoded, Hypothesis, SearchQuery, StepGraph, beam_search


class CaptionGraphs(StepGraph, Protocol):
    def encode(self, images: np.ndarray) -> list[np.ndarray]:
        """images (B, 3, S, S) float32 RGB 0-255 -> memory, keys, h0, mem_len."""
        ...


@dataclass(frozen=True)
class CaptionQuery:
    image: np.ndarray  # (3, S, S) float32 RGB in 0-255, already resized to the model's input
    beam_size: int = 3
    n_best: int = 1
    max_length: int = 30  # words, </s> excluded
    alpha: float = 0.0  # length normalization (GNMT alpha)
    # Never generate <unk>: with a vocabulary of words seen 3+ times, the model otherwise ends many
    # captions with "on a <unk>", which reads as "on a" once specials are dropped from the text.
    block_unk: bool = True


def decode(graphs: CaptionGraphs, queries: list[CaptionQuery], vocab_size: int) -> list[list[Hypothesis]]:
    """n-best word hypotheses per image, best first. Every image has the same grid, so no masking is needed."""
    return beam_search(graphs, *encode(graphs, queries), vocab_size)


def encode(graphs: CaptionGraphs, queries: list[CaptionQuery]) -> tuple[Encoded, list[SearchQuery]]:
    """The CNN and head over a batch of images, and each one's search settings."""
    memory, keys, h0, mem_len = graphs.encode(np.stack([q.image for q in queries]).astype(np.float32))
    search = [SearchQuery(q.beam_size, q.n_best, q.max_length, alpha=q.alpha, block_unk=q.block_unk) for q in queries]
    return Encoded(memory, keys, h0, mem_len), search
