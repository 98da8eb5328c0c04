"""Checkpoints as safetensors, with the constructor args in the metadata (no pickle anywhere)."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import load_file, save_file

from models.hull.model import PointerNet, PointerNetConfig


def save_checkpoint(model: PointerNet, path: Path, extra: dict[str, object] | None = None) -> None:
    meta = {"config": json.dumps(model.cfg.to_dict()), **{k: str(v) for k, v in (extra or {}).items()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp), metadata=meta)
    tmp.replace(path)


def read_metadata(path: Path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def load_checkpoint(path: Path) -> PointerNet:
    cfg = PointerNetConfig(**json.loads(read_metadata(path)["config"]))
    model = PointerNet(cfg)
    model.load_state_dict(load_file(str(path)))
    return model.eval()
