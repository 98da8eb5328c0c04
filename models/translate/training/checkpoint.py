"""Translation checkpoints: safetensors (float16 to stay small), config, vocabularies and (for a subword
model) its BPE merges in the metadata."""

from __future__ import annotations

import json
from pathlib import Path

from models.training.checkpoints import load_weights, read_metadata, save_weights
from models.translate.subwords import Subwords
from models.translate.training.model import Seq2Seq, Seq2SeqConfig
from models.translate.vocab import Vocab


def save_checkpoint(
    model: Seq2Seq, src: Vocab, tgt: Vocab, path: Path, extra: dict[str, object] | None = None, subwords: Subwords | None = None
) -> None:
    meta = {"config": json.dumps(model.cfg.to_dict()), "src_vocab": src.to_json(), "tgt_vocab": tgt.to_json()}
    if subwords is not None:
        meta["subwords"] = subwords.to_json()
    save_weights(model, path, meta | {k: str(v) for k, v in (extra or {}).items()}, half=True)


def read_subwords(path: Path) -> Subwords | None:
    """The BPE model whose pieces the checkpoint's vocabularies hold; None for a word-level model."""
    text = read_metadata(path).get("subwords")
    return Subwords.from_json(text) if text else None


def load_checkpoint(path: Path) -> tuple[Seq2Seq, Vocab, Vocab]:
    meta = read_metadata(path)
    model = Seq2Seq(Seq2SeqConfig(**json.loads(meta["config"])))
    model.load_state_dict(load_weights(path))
    return model.eval(), Vocab.from_json(meta["src_vocab"]), Vocab.from_json(meta["tgt_vocab"])


def shared_subwords(paths: list[Path]) -> Subwords | None:
    """The subword model every checkpoint has (or None: all word-level); ValueError if they differ."""
    found = [read_subwords(p) for p in paths]
    if any(f != found[0] for f in found):
        raise ValueError("the checkpoints cut words into different subwords (train them with the same --subwords model)")
    return found[0]


def shared_vocabularies(loaded: list[tuple[Seq2Seq, Vocab, Vocab]]) -> tuple[Vocab, Vocab]:
    """The source and target vocabularies that every loaded checkpoint has; ValueError if they differ (an
    ensemble or an average needs one vocabulary, so train its members on the same data and --min-freq)."""
    src, tgt = loaded[0][1], loaded[0][2]
    if any(s.to_json() != src.to_json() or t.to_json() != tgt.to_json() for _, s, t in loaded):
        raise ValueError("the checkpoints have different vocabularies (train them on the same data and --min-freq)")
    return src, tgt
