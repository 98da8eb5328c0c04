"""Several encoder-decoder models decoded as one: the beam search (models/beam.py) sees a single StepGraph.

Each member keeps its own encoder output and decoder state; they travel through the search side by side, as
one array whose last axis is the members' widths concatenated (memory, keys, decoder state, context), and
are split again at every step. The step's answer is the members' average *output distribution*, exactly:
with each member's copy distribution p_i = g_i P_i + (1 - g_i) a_i (g the generate probability, P over the
vocabulary, a the attention scattered onto the source), the ensemble gives g = mean g_i,
P = mean(g_i P_i) / g and a = mean((1 - g_i) a_i) / (1 - g), so that g P + (1 - g) a = mean p_i. Without a
copy mechanism (g = 1) that is the mean of the members' vocabulary distributions and the mean attention.

This numpy average serves some of an ensemble's members (SEQ2SERVE_<MODEL>__MEMBERS); the whole ensemble is
served from graphs that compute the same average inside ONNX Runtime (export/ensemble.py), which is cheaper.

Members must share the target vocabulary and the source positions (the same source tokenization); their
sizes may differ.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TINY = 1e-12


class EnsembleGraphs:
    """`encode` / `step` over member graphs (each with `encode` and `step`, as EncoderDecoderGraphs)."""

    in_graph_top_k = False  # the members' own rankings do not rank their average

    def __init__(self, members: list[Any]) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = members
        self._widths: list[tuple[int, int, int]] | None = None  # per member: memory, keys, state widths

    def encode(self, *arrays: np.ndarray) -> list[np.ndarray]:
        """memory, keys, h0 of every member, concatenated on the last axis."""
        outs = [m.encode(*arrays) for m in self.members]
        self._widths = [(mem.shape[-1], keys.shape[-1], h0.shape[-1]) for mem, keys, h0 in outs]
        return [np.concatenate([o[i] for o in outs], axis=-1) for i in range(3)]

    def _split(self, a: np.ndarray, which: int) -> list[np.ndarray]:
        assert self._widths is not None, "encode before step"
        cuts = np.cumsum([w[which] for w in self._widths])[:-1]
        return np.split(a, cuts, axis=-1)

    def step(
        self, y: np.ndarray, h: np.ndarray, ctx: np.ndarray, memory: np.ndarray, keys: np.ndarray, mask: np.ndarray
    ) -> list[np.ndarray]:
        """-> logp_vocab, attn, p_gen, h, ctx of the average distribution (see the module docstring)."""
        parts = zip(self._split(h, 2), self._split(ctx, 0), self._split(memory, 0), self._split(keys, 1), strict=True)
        outs = [m.step(y, hi, ci, mi, ki, mask) for m, (hi, ci, mi, ki) in zip(self.members, parts, strict=True)]
        g = np.stack([o[2] for o in outs]).astype(np.float64)  # (n, R)
        vocab = np.mean([gi[:, None] * np.exp(o[0].astype(np.float64)) for gi, o in zip(g, outs, strict=True)], axis=0)
        attn = np.mean([(1 - gi)[:, None] * o[1].astype(np.float64) for gi, o in zip(g, outs, strict=True)], axis=0)
        p_gen = g.mean(axis=0)
        logp_vocab = np.log(vocab / np.maximum(p_gen, TINY)[:, None] + TINY)
        copy = 1 - p_gen
        # where no member copies, the attention is the members' plain average (it is still shown to users)
        plain = np.mean([o[1].astype(np.float64) for o in outs], axis=0)
        attn = np.where(copy[:, None] > TINY, attn / np.maximum(copy, TINY)[:, None], plain)
        return [logp_vocab.astype(np.float32), attn.astype(np.float32), p_gen.astype(np.float32),
                np.concatenate([o[3] for o in outs], axis=-1), np.concatenate([o[4] for o in outs], axis=-1)]  # fmt: skip
