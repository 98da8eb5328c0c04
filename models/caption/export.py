"""Export the captioning models (photo and grounded): `encode` (CNN + head) and `decode_step` graphs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from export.common import GraphSpec, checkpoint_meta, decode_step_spec, export_graphs
from models.caption.training.checkpoint import load_checkpoint
from models.caption.training.model import Captioner

ROOT = Path(__file__).resolve().parents[2]
CARD = ROOT / "models" / "caption" / "card.json"  # one card, both models: {"photo": {...}, "grounded": {...}}


def graph_specs(model: Captioner) -> list[GraphSpec]:
    cfg = model.cfg

    def encode_inputs(batch: int, _: int) -> tuple[torch.Tensor, ...]:
        g = torch.Generator().manual_seed(batch)
        return (torch.rand(batch, 3, cfg.image_size, cfg.image_size, generator=g) * 255,)

    axes = {"images": {0: "batch"}, "memory": {0: "batch"}, "keys": {0: "batch"}, "h0": {0: "batch"}, "mem_len": {0: "batch"}}
    encode = GraphSpec("encode", model.encoder, ["images"], ["memory", "keys", "h0", "mem_len"], axes, encode_inputs)
    return [encode, decode_step_spec(model.step, cfg.dim, 2 * cfg.hidden, cfg.attn, cfg.vocab)]


def export_kind(kind: str, out_dir: Path, checkpoint: Path) -> dict[str, Any]:
    model, vocab = load_checkpoint(checkpoint)
    meta = checkpoint_meta(f"caption_{kind}", checkpoint, "epoch", model.cfg.to_dict(), CARD)
    meta["card"] = meta["card"].get(kind, {})
    meta |= {"kind": kind, "vocab": vocab, "image_size": model.cfg.image_size, "grid": [model.cfg.grid, model.cfg.grid]}
    # The image graph has one fixed size, so "length" only varies the decoder step's memory positions.
    return export_graphs(graph_specs(model), out_dir, meta, example=(2, 9), check=(3, model.cfg.grid**2))


def export_photo(out_dir: Path, checkpoint: Path) -> dict[str, Any]:
    return export_kind("photo", out_dir, checkpoint)


def export_grounded(out_dir: Path, checkpoint: Path) -> dict[str, Any]:
    return export_kind("grounded", out_dir, checkpoint)
