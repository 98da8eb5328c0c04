"""Export the speech model: `encode` (the listener) and `decode_step` (the speller) graphs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from export.common import GraphSpec, checkpoint_meta, decode_step_spec, export_graphs
from models.speech.chars import CHARS
from models.speech.features import REDUCTION
from models.speech.training.checkpoint import load_checkpoint, read_norm
from models.speech.training.model import LAS

ROOT = Path(__file__).resolve().parents[2]
CARD = ROOT / "models" / "speech" / "card.json"


def graph_specs(model: LAS) -> list[GraphSpec]:
    cfg = model.cfg

    def encode_inputs(batch: int, steps: int) -> tuple[torch.Tensor, ...]:
        g = torch.Generator().manual_seed(batch * 1000 + steps)
        frames = steps * REDUCTION
        lengths = torch.full((batch,), frames, dtype=torch.int64)
        lengths[0] = max(1, frames - 11)  # one shorter row, so length handling is part of what gets verified
        feats = torch.randn(batch, frames, cfg.n_mels, generator=g)
        feats[0, lengths[0] :] = 0
        return feats, lengths

    axes = {"feats": {0: "batch", 1: "frames"}, "lengths": {0: "batch"}, "memory": {0: "batch", 1: "steps"},
            "keys": {0: "batch", 1: "steps"}, "h0": {0: "batch"}, "mem_len": {0: "batch"}}  # fmt: skip
    encode = GraphSpec("encode", model.listener, ["feats", "lengths"], ["memory", "keys", "h0", "mem_len"], axes, encode_inputs)
    sc = cfg.speller_config()
    return [encode, decode_step_spec(model.step, 2 * sc.enc_hidden, sc.dec_hidden, sc.attn, sc.tgt_vocab)]


def export(out_dir: Path, checkpoint: Path) -> dict[str, Any]:
    model = load_checkpoint(checkpoint)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = checkpoint_meta("speech", checkpoint, "epoch", model.cfg.to_dict(), CARD) | {"chars": CHARS}
    if (norm := read_norm(checkpoint)) is not None:  # the handler normalizes requests' features with these
        meta["norm"] = norm.as_dict()
    return export_graphs(graph_specs(model), out_dir, meta, example=(3, 9), check=(5, 23))
