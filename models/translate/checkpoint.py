"""Translation checkpoints: safetensors (float16 to stay small), config and vocabularies in the metadata."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from models.translate.model import Seq2Seq, Seq2SeqConfig
from models.translate.vocab import Vocab


def save_checkpoint(model: Seq2Seq, src: Vocab, tgt: Vocab, path: Path, extra: dict[str, object] | None = None) -> None:
    meta = {"config": json.dumps(model.cfg.to_dict()), "src_vocab": src.to_json(), "tgt_vocab": tgt.to_json()}
    meta |= {k: str(v) for k, v in (extra or {}).items()}
    # float16 halves the file; the model is trained and served in float32 (weights are cast on load).
    tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(path)


def read_metadata(path: Path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def load_checkpoint(path: Path) -> tuple[Seq2Seq, Vocab, Vocab]:
    meta = read_metadata(path)
    model = Seq2Seq(Seq2SeqConfig(**json.loads(meta["config"])))
    model.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
    return model.eval(), Vocab.from_json(meta["src_vocab"]), Vocab.from_json(meta["tgt_vocab"])
