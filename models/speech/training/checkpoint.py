"""Speech checkpoints: safetensors (float16 to stay small) with the config in the metadata."""

from __future__ import annotations

import json
from pathlib import Path

from models.speech.features import Norm
from models.speech.training.model import LAS, LASConfig
from models.training.checkpoints import load_weights, read_metadata, save_weights


def save_checkpoint(model: LAS, path: Path, extra: dict[str, object]) -> None:
    meta = {"config": json.dumps(model.cfg.to_dict())} | {k: str(v) for k, v in extra.items()}
    save_weights(model, path, meta, half=True)


def load_checkpoint(path: Path) -> LAS:
    model = LAS(LASConfig(**json.loads(read_metadata(path)["config"])))
    model.load_state_dict(load_weights(path))
    return model.eval()


def read_norm(path: Path) -> Norm | None:
    """The global feature normalization a checkpoint was trained with; None: per utterance."""
    norm = read_metadata(path).get("norm")
    return Norm.from_dict(json.loads(norm)) if norm else None
