"""Ensembles exported as one graph each: the members' encoders, and their decoder steps with the average
distribution computed in the graph (models/ensemble.py explains the average; EnsembleGraphs computes the
same in numpy for the server when only some members are served).

Torch modules for export only: the server never imports torch for ONNX graphs.
"""

from __future__ import annotations

import torch

TINY = 1e-12


class EnsembleEncoder(torch.nn.Module):
    """The members' encoders as one graph: memory, keys, h0 of every member concatenated on the last axis,
    the layout EnsembleGraphs.encode produces."""

    def __init__(self, encoders: list[torch.nn.Module]) -> None:
        super().__init__()
        self.encoders = torch.nn.ModuleList(encoders)

    def forward(self, src: torch.Tensor, src_len: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        outs = [e(src, src_len) for e in self.encoders]
        return (torch.cat([o[0] for o in outs], -1), torch.cat([o[1] for o in outs], -1),
                torch.cat([o[2] for o in outs], -1))  # fmt: skip


class EnsembleStep(torch.nn.Module):
    """The members' decoder steps as one graph, averaging their output distributions as EnsembleGraphs.step
    does (module docstring): one ONNX Runtime call per step instead of one per member, and a
    graph that can rank the average's vocabulary itself (export.common.TopKStep), so the search never
    fetches a whole distribution. `widths`: per member, its (memory, keys, state) widths."""

    def __init__(self, steps: list[torch.nn.Module], widths: list[tuple[int, int, int]]) -> None:
        super().__init__()
        self.steps = torch.nn.ModuleList(steps)
        self.widths = widths

    def _split(self, a: torch.Tensor, which: int) -> list[torch.Tensor]:
        return list(torch.split(a, [w[which] for w in self.widths], dim=-1))

    def forward(
        self, y: torch.Tensor, h: torch.Tensor, ctx: torch.Tensor, memory: torch.Tensor, keys: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, ...]:  # fmt: skip
        parts = zip(self._split(h, 2), self._split(ctx, 0), self._split(memory, 0), self._split(keys, 1), strict=True)
        outs = [s.scores(y, hi, ci, mi, ki, mask) for s, (hi, ci, mi, ki) in zip(self.steps, parts, strict=True)]
        g = torch.stack([o[2] for o in outs])  # (n, R) generate probabilities
        p_gen = g.mean(0)
        # In probability space: one softmax per member and one log, the fewest passes over (rows x vocabulary),
        # which cost as much as the members' matrix products at this size. TINY keeps a word that every
        # member gives probability 0 in float32 at a finite log-probability, as the numpy average does.
        weights = g / (p_gen.clamp_min(TINY) * len(outs))  # (n, R): g_i / sum_j g_j
        mixed = weights[0].unsqueeze(-1) * torch.softmax(outs[0][0], dim=-1)
        for w, o in zip(weights[1:], outs[1:], strict=True):
            mixed = mixed + w.unsqueeze(-1) * torch.softmax(o[0], dim=-1)
        logp_vocab = torch.log(mixed + TINY)
        copy = torch.stack([(1 - gi).unsqueeze(-1) * o[1] for gi, o in zip(g, outs, strict=True)]).mean(0)
        plain = torch.stack([o[1] for o in outs]).mean(0)
        keep = (1 - p_gen).unsqueeze(-1)
        attn = torch.where(keep > 1e-6, copy / keep.clamp_min(1e-6), plain)
        return logp_vocab, attn, p_gen, torch.cat([o[3] for o in outs], -1), torch.cat([o[4] for o in outs], -1)
