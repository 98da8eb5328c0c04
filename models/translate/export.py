"""Export the translation model: `encode` and `decode_step` graphs, plus the vocabularies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from export.common import GraphSpec, checkpoint_meta, decode_step_spec, export_graphs
from export.ensemble import EnsembleEncoder, EnsembleStep
from models.translate.training.checkpoint import load_checkpoint, read_subwords, shared_subwords, shared_vocabularies
from models.translate.training.model import Seq2Seq
from models.translate.vocab import Vocab

ROOT = Path(__file__).resolve().parents[2]
CARD = ROOT / "models" / "translate" / "card.json"


def graph_specs(model: Seq2Seq) -> list[GraphSpec]:
    cfg = model.cfg
    return _specs(model.encoder, model.step, cfg.src_vocab, (2 * cfg.enc_hidden, cfg.dec_hidden, cfg.attn), cfg.tgt_vocab)


def fused_graph_specs(models: list[Seq2Seq]) -> list[GraphSpec]:
    """An ensemble's members as one encode and one decode_step graph (export/ensemble.py)."""
    widths = [(2 * m.cfg.enc_hidden, m.cfg.attn, m.cfg.dec_hidden) for m in models]
    step = EnsembleStep([m.step for m in models], widths)
    dims = (sum(w[0] for w in widths), sum(w[2] for w in widths), sum(w[1] for w in widths))
    cfg = models[0].cfg
    return _specs(EnsembleEncoder([m.encoder for m in models]), step, cfg.src_vocab, dims, cfg.tgt_vocab)


def _specs(
    encoder: torch.nn.Module, step: torch.nn.Module, src_vocab: int, dims: tuple[int, int, int], tgt_vocab: int
) -> list[GraphSpec]:
    """`dims`: memory (= context), decoder state and attention-key widths."""

    def encode_inputs(batch: int, s: int) -> tuple[torch.Tensor, ...]:
        g = torch.Generator().manual_seed(batch * 1000 + s)
        lengths = torch.full((batch,), s, dtype=torch.int64)
        lengths[0] = max(1, s - 3)  # one shorter row, so length handling is part of what gets verified
        src = torch.randint(4, src_vocab, (batch, s), generator=g)
        src[0, lengths[0] :] = 0
        return src, lengths

    enc_axes = {"src": {0: "batch", 1: "src_len"}, "src_len": {0: "batch"}, "memory": {0: "batch", 1: "src_len"},
                "keys": {0: "batch", 1: "src_len"}, "h0": {0: "batch"}}  # fmt: skip
    encode = GraphSpec("encode", encoder, ["src", "src_len"], ["memory", "keys", "h0"], enc_axes, encode_inputs)
    return [encode, decode_step_spec(step, *dims, tgt_vocab)]


def export(out_dir: Path, checkpoint: Path, *more: Path) -> dict[str, Any]:
    """One checkpoint: its graphs in out_dir. Several (an ensemble, shipped by listing its members'
    checkpoints in the task's ModelSpec): each member's graphs in out_dir/member-<i>/, the whole ensemble
    fused into one encode and one decode_step graph in out_dir, and a meta.json on top that lists both."""
    if more:
        return export_ensemble(out_dir, [checkpoint, *more])
    return export_one(out_dir, checkpoint, load_checkpoint(checkpoint))


def export_one(out_dir: Path, checkpoint: Path, loaded: tuple[Seq2Seq, Vocab, Vocab]) -> dict[str, Any]:
    """`loaded`: what load_checkpoint(checkpoint) returns, read once by the caller."""
    model, src, tgt = loaded
    out_dir.mkdir(parents=True, exist_ok=True)
    src.save(out_dir / "src_vocab.json")
    tgt.save(out_dir / "tgt_vocab.json")
    if (subwords := read_subwords(checkpoint)) is not None:  # the handler cuts words into these pieces
        subwords.save(out_dir / "subwords.json")
    meta = checkpoint_meta("translate", checkpoint, "epoch", model.cfg.to_dict(), CARD)
    return export_graphs(graph_specs(model), out_dir, meta, example=(3, 9), check=(5, 23))


def export_ensemble(out_dir: Path, checkpoints: list[Path]) -> dict[str, Any]:
    """Members must share both vocabularies: the ensemble averages distributions over one target vocabulary
    and reads one source tokenization (models/ensemble.py).

    Each member's own graphs go to member-<i>/ (served when SEQ2SERVE_TRANSLATE__MEMBERS picks fewer than all);
    the whole ensemble's fused graphs (export/ensemble.py) go to out_dir itself, and serve all members."""
    loaded = [load_checkpoint(c) for c in checkpoints]
    shared_vocabularies(loaded)
    subwords = shared_subwords(checkpoints)
    members = [f"member-{i}" for i in range(len(checkpoints))]
    metas = [export_one(out_dir / m, c, ld) for m, c, ld in zip(members, checkpoints, loaded, strict=True)]
    for name in ("src_vocab.json", "tgt_vocab.json", *(("subwords.json",) if subwords else ())):
        (out_dir / name).write_bytes((out_dir / members[0] / name).read_bytes())
    meta = {"model": "translate", "version": "+".join(str(m["version"]) for m in metas),
            "checkpoint_sha256": [m["checkpoint_sha256"] for m in metas], "members": members,
            "config": {"members": len(members), "each": [m["config"] for m in metas]},
            "card": json.loads(CARD.read_text()) if CARD.exists() else {}}  # fmt: skip
    return export_graphs(fused_graph_specs([m for m, _, _ in loaded]), out_dir, meta, example=(3, 9), check=(5, 23))
