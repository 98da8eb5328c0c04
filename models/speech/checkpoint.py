"""Speech checkpoints: safetensors (float16 to stay small) with the config in the metadata."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from models.speech.model import LAS, LASConfig


def save_checkpoint(model: LAS, path: Path, extra: dict[str, object]) -> None:
    meta = {"config": json.dumps(model.cfg.to_dict())} | {k: str(v) for k, v in extra.items()}
    # float16 halves the file; the model is trained and served in float32 (weights are cast on load).
    tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(path)


def read_metadata(path: Path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def load_checkpoint(path: Path) -> LAS:
    model = LAS(LASConfig(**json.loads(read_metadata(path)["config"])))
    model.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
    return model.eval()
