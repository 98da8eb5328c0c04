"""Memory-network checkpoints as safetensors: constructor args and the vocabularies in the metadata.

An ensemble (models/qa/training/ensemble.py) is one file too: its members' weights under `members.<i>.`,
`members` (their number) and `member_configs` (each one's config: members may differ in gates, encoding or
width) in the metadata beside the first member's config and the vocabularies.
"""

from __future__ import annotations

import json
from pathlib import Path

from models.qa.text import Vocabularies
from models.qa.training.model import MemN2N, MemN2NConfig, MemN2NEnsemble
from models.training.checkpoints import load_weights, read_metadata, save_weights

QAModel = MemN2N | MemN2NEnsemble


def save_checkpoint(model: QAModel, vocab: Vocabularies, path: Path, extra: dict[str, object] | None = None) -> None:
    meta = {"config": json.dumps(model.cfg.to_dict()), "vocab": vocab.to_json(), **{k: str(v) for k, v in (extra or {}).items()}}
    if isinstance(model, MemN2NEnsemble):
        meta["members"] = str(len(model.members))
        meta["member_configs"] = json.dumps([c.to_dict() for c in model.configs])
    save_weights(model, path, meta)


def load_checkpoint(path: Path) -> tuple[QAModel, Vocabularies]:
    meta = read_metadata(path)
    cfg = MemN2NConfig(**json.loads(meta["config"]))
    n = int(meta.get("members", "0"))
    # ensembles saved before member_configs existed had n members of one config
    configs = [MemN2NConfig(**c) for c in json.loads(meta["member_configs"])] if "member_configs" in meta else [cfg] * n
    model: QAModel = MemN2NEnsemble([MemN2N(c) for c in configs]) if n else MemN2N(cfg)
    model.load_state_dict(load_weights(path))
    return model.eval(), Vocabularies.from_json(meta["vocab"])
