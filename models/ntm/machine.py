"""The NTM's loop over time in numpy, around its exported step graph: what the service runs.

A copy of L vectors takes 2L + 1 steps: the L inputs, a delimiter, then L blank steps whose outputs are the
copy. Sequences of different lengths step together (a shorter one is padded with blank steps at its end,
whose outputs are dropped): the state of a row never depends on another row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

STATE = ("read", "h", "c", "memory", "w_read", "w_write")  # the step graph's state inputs, in order


@dataclass
class CopyResult:
    probs: np.ndarray  # (L, bits) the probability of each output bit being 1
    write_weights: np.ndarray  # (L, N) the write head's weights over memory rows while each input was read
    read_weights: np.ndarray  # (L, N) the read head's weights while each output was written


class StepRunner:
    """Calls a step graph (feeds -> outputs) from the learned initial state `state0` (name -> array)."""

    def __init__(self, run: Callable[[dict[str, np.ndarray]], list[np.ndarray]], state0: dict[str, np.ndarray]) -> None:
        self.run, self.state0 = run, state0

    def initial(self, batch: int) -> list[np.ndarray]:
        return [np.ascontiguousarray(np.broadcast_to(self.state0[n], (batch, *self.state0[n].shape))) for n in STATE]

    def step(self, x: np.ndarray, state: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        out = self.run({"x": x, **dict(zip(STATE, state, strict=True))})
        return out[0], list(out[1:])


def run_copy(runner: StepRunner, sequences: list[np.ndarray]) -> list[CopyResult]:
    """Copy each (L_i, bits) 0/1 array: one batch, max(2 L_i + 1) steps."""
    bits = sequences[0].shape[1]
    lengths = [len(s) for s in sequences]
    steps = 2 * max(lengths) + 1
    x = np.zeros((len(sequences), steps, bits + 1), dtype=np.float32)
    for b, s in enumerate(sequences):
        x[b, : len(s), :bits] = s
        x[b, len(s), bits] = 1.0  # the delimiter
    state = runner.initial(len(sequences))
    logits, w_read, w_write = [], [], []
    for t in range(steps):
        out, state = runner.step(x[:, t], state)
        logits.append(out)
        w_read.append(state[STATE.index("w_read")])
        w_write.append(state[STATE.index("w_write")])
    logits_a, reads, writes = np.stack(logits, 1), np.stack(w_read, 1), np.stack(w_write, 1)
    probs = 1 / (1 + np.exp(-logits_a))
    return [CopyResult(probs[b, n + 1 : 2 * n + 1], writes[b, :n], reads[b, n + 1 : 2 * n + 1]) for b, n in enumerate(lengths)]
