"""Caption checkpoints: safetensors (float16 to stay small) with the config and vocabulary in the metadata."""

from __future__ import annotations

import json
from pathlib import Path

from models.caption.training.model import CaptionConfig, Captioner
from models.training.checkpoints import load_weights, read_metadata, save_weights


def save_checkpoint(model: Captioner, vocab: list[str], path: Path, extra: dict[str, object]) -> None:
    meta = {"config": json.dumps(model.cfg.to_dict()), "vocab": json.dumps(vocab)} | {k: str(v) for k, v in extra.items()}
    save_weights(model, path, meta, half=True)


def load_checkpoint(path: Path) -> tuple[Captioner, list[str]]:
    meta = read_metadata(path)
    model = Captioner(CaptionConfig(**json.loads(meta["config"])))
    model.load_state_dict(load_weights(path))
    return model.eval(), json.loads(meta["vocab"])
