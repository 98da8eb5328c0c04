"""What every step batch offers the step scheduler (models.beam.StepBatch, models.hull.search.HullStepBatch):
a set of active decodings that join between steps (`add`), leave when they finish (returned by `step`) or
when their caller goes away (`remove`), and the number of hypothesis rows the next decoder call will run.

`PaddedDecodings` adds what the pointer search uses: each decoding's per-position encoder outputs
gathered into one slab per live hypothesis, padded to the widest active decoding with a mask marking its
own positions, so its results do not depend on what it was batched with. The slab is rebuilt only when
the set of rows (decodings and their live counts) changes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Generic, Protocol, TypeVar

import numpy as np


class Stepped(Protocol):
    memory: np.ndarray  # (n, C): its length is the decoding's number of positions
    live: list[Any]

    @property
    def finished(self) -> bool: ...


D = TypeVar("D", bound=Stepped)


class ActiveDecodings(ABC, Generic[D]):
    active: list[D]

    @abstractmethod
    def add(self, decodings: list[D]) -> None:
        """Decodings that join before the next step (finished ones are ignored)."""

    @abstractmethod
    def remove(self, decoding: D) -> None:
        """Drop a decoding and its rows (its caller went away)."""

    @property
    @abstractmethod
    def rows(self) -> int:
        """Live hypotheses: the decoder's batch size at the next step."""

    @abstractmethod
    def step(self) -> list[D]:
        """One decoder step for all live hypotheses; returns (and drops) the decodings that finished."""

    def run(self, decodings: list[D]) -> None:
        """Decode these to the end (what request-level batching does)."""
        self.add(decodings)
        while self.active:
            self.step()


class PaddedDecodings(ActiveDecodings[D]):
    def __init__(self) -> None:
        self.active = []
        self._slab: tuple[tuple[object, ...], list[np.ndarray]] = ((), [])

    def add(self, decodings: list[D]) -> None:
        self.active += [d for d in decodings if not d.finished]

    def remove(self, decoding: D) -> None:
        self.active = [d for d in self.active if d is not decoding]

    @property
    def rows(self) -> int:
        return sum(len(d.live) for d in self.active)

    @abstractmethod
    def _positions(self, d: D) -> list[np.ndarray]:
        """The decoding's per-position arrays the decoder step reads, each (n, C)."""

    def _gathered(self) -> list[np.ndarray]:
        """Each of `_positions` padded and repeated for every live hypothesis, then the (rows, width) mask."""
        key = tuple((id(d), len(d.live)) for d in self.active)
        if self._slab[0] != key:
            width = max(len(d.memory) for d in self.active)
            parts: list[list[np.ndarray]] = []
            for d in self.active:
                n, k = len(d.memory), len(d.live)
                arrays = [np.pad(a, ((0, width - n), (0, 0))) for a in self._positions(d)] + [np.arange(width) < n]
                parts = parts or [[] for _ in arrays]
                for part, a in zip(parts, arrays, strict=True):
                    part.append(np.repeat(a[None], k, axis=0))
            self._slab = (key, [np.concatenate(p) for p in parts])
        return self._slab[1]
