"""Memory-network checkpoints as safetensors: constructor args and the vocabularies in the metadata."""

from __future__ import annotations

import json
from pathlib import Path

from models.qa.text import Vocabularies
from models.qa.training.model import MemN2N, MemN2NConfig
from models.training.checkpoints import load_weights, read_metadata, save_weights


def save_checkpoint(model: MemN2N, vocab: Vocabularies, path: Path, extra: dict[str, object] | None = None) -> None:
    meta = {"config": json.dumps(model.cfg.to_dict()), "vocab": vocab.to_json(), **{k: str(v) for k, v in (extra or {}).items()}}
    save_weights(model, path, meta)


def load_checkpoint(path: Path) -> tuple[MemN2N, Vocabularies]:
    meta = read_metadata(path)
    model = MemN2N(MemN2NConfig(**json.loads(meta["config"])))
    model.load_state_dict(load_weights(path))
    return model.eval(), Vocabularies.from_json(meta["vocab"])
