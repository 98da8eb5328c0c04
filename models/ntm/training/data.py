"""Copy-task data (Graves et al. 2014), generated on the fly from a numpy Generator.

An example of length L has 2L + 1 steps: the L random bit vectors, one delimiter step (only the extra channel
set), then L blank steps during which the network must output the L vectors again. The loss and the bit
errors are taken on those last L steps only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


def copy_batch(rng: np.random.Generator, batch: int, length: int, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """inputs (batch, 2L + 1, bits + 1) float32 and targets (batch, L, bits) float32 for sequences of length L."""
    targets = rng.integers(0, 2, size=(batch, length, bits)).astype(np.float32)
    inputs = np.zeros((batch, 2 * length + 1, bits + 1), dtype=np.float32)
    inputs[:, :length, :bits] = targets
    inputs[:, length, bits] = 1.0  # the delimiter: the only step with the extra channel set
    return inputs, targets


def eval_sets(lengths: list[int], size: int, bits: int, seed: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Fixed, seeded evaluation batches of `size` sequences per length (a seed space apart from training's)."""
    return {n: copy_batch(np.random.default_rng([seed, 7919, n]), size, n, bits) for n in lengths}


@dataclass
class Curriculum:
    """Lengths uniform in 1..max_len, max_len growing by one up to final_len whenever the moving average of the
    bit errors per sequence on training batches of length max_len drops below `threshold`.

    Starting with max_len == final_len is plain uniform 1..final_len (what Collier & Beel train on). Starting
    much lower is not free: on short sequences the LSTM alone can hold the data, and the network may learn to
    ignore the memory.
    """

    max_len: int  # current longest training length
    final_len: int = 20  # the curriculum stops growing here
    threshold: float = 0.5  # moving-average bit errors per sequence at max_len that unlock max_len + 1
    ema: float | None = None  # moving average at the current max_len; None until a batch of that length is seen

    def sample_length(self, rng: np.random.Generator) -> int:
        return int(rng.integers(1, self.max_len + 1))

    def update(self, length: int, errors: float) -> bool:
        """Record a training batch's mean bit errors per sequence; True if max_len grew."""
        if length != self.max_len or self.max_len >= self.final_len:
            return False
        self.ema = errors if self.ema is None else 0.9 * self.ema + 0.1 * errors
        if self.ema >= self.threshold:
            return False
        self.max_len, self.ema = self.max_len + 1, None
        return True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Curriculum:
        return cls(**d)
