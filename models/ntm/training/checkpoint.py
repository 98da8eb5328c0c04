"""NTM checkpoints as safetensors, with the constructor args in the metadata (no pickle anywhere)."""

from __future__ import annotations

import json
from pathlib import Path

from models.ntm.training.model import NTM, NTMConfig
from models.training.checkpoints import load_weights, read_metadata, save_weights


def save_checkpoint(model: NTM, path: Path, extra: dict[str, object] | None = None) -> None:
    meta = {"config": json.dumps(model.cfg.to_dict()), **{k: str(v) for k, v in (extra or {}).items()}}
    save_weights(model, path, meta)


def load_checkpoint(path: Path) -> NTM:
    model = NTM(NTMConfig.from_dict(json.loads(read_metadata(path)["config"])))
    model.load_state_dict(load_weights(path))
    return model.eval()
