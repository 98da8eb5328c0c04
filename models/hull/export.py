"""Export the hull pointer network: `encode` and `decode_step` graphs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from export.common import GraphSpec, checkpoint_meta, export_graphs
from models.hull.training.checkpoint import load_checkpoint
from models.hull.training.model import PointerNet

ROOT = Path(__file__).resolve().parents[2]
CARD = ROOT / "models" / "hull" / "card.json"


def _encode_inputs(batch: int, n: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(batch * 1000 + n)
    valid = torch.ones(batch, n, dtype=torch.bool)
    valid[0, n - 1 :] = False  # one padded row, so masking is part of what gets verified
    return torch.rand(batch, n, 2, generator=g), valid


def graph_specs(model: PointerNet) -> list[GraphSpec]:
    d = model.cfg.d_model

    def step_inputs(hyps: int, length: int) -> tuple[torch.Tensor, ...]:
        g = torch.Generator().manual_seed(hyps * 1000 + length)
        valid = torch.ones(hyps, length, dtype=torch.bool)
        valid[0, length - 1 :] = False
        r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
        return r(hyps, 2 * d), r(hyps, d), r(hyps, length, d), r(hyps, length, d), r(hyps, length, d), valid

    per_pos = {0: "batch", 1: "length"}
    return [
        GraphSpec(
            "encode",
            model.encoder,
            ["points", "valid"],
            ["memory", "glimpse_k", "glimpse_v", "pointer_k", "h0"],
            {
                "points": {0: "batch", 1: "n"},
                "valid": {0: "batch", 1: "n"},
                "memory": per_pos,
                "glimpse_k": per_pos,
                "glimpse_v": per_pos,
                "pointer_k": per_pos,
                "h0": {0: "batch"},
            },
            _encode_inputs,
        ),
        GraphSpec(
            "decode_step",
            model.step,
            ["x", "h", "glimpse_k", "glimpse_v", "pointer_k", "valid"],
            ["logits", "h_out"],
            {
                "x": {0: "hyps"},
                "h": {0: "hyps"},
                "glimpse_k": {0: "hyps", 1: "length"},
                "glimpse_v": {0: "hyps", 1: "length"},
                "pointer_k": {0: "hyps", 1: "length"},
                "valid": {0: "hyps", 1: "length"},
                "logits": {0: "hyps", 1: "length"},
                "h_out": {0: "hyps"},
            },
            step_inputs,
        ),
    ]


def export(out_dir: Path, checkpoint: Path) -> dict[str, Any]:
    model = load_checkpoint(checkpoint)
    meta = checkpoint_meta("hull", checkpoint, "step", model.cfg.to_dict(), CARD)
    return export_graphs(graph_specs(model), out_dir, meta, example=(4, 12), check=(3, 37))
