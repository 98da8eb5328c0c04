"""Export the sentiment models: the Tree-LSTM's per-level cells (`leaf`, `compose`) and the parser's
`span_scores` graph. The server batches nodes of one height, across requests, into one cell call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from export.common import GraphSpec, checkpoint_meta, export_graphs, sha256
from models.sentiment.training.checkpoint import load_parser, load_tree_model
from models.sentiment.training.model import TreeLSTM
from models.sentiment.training.parser import SpanScorer

ROOT = Path(__file__).resolve().parents[2]
CARD = ROOT / "models" / "sentiment" / "card.json"


def graph_specs(model: TreeLSTM, parser: SpanScorer) -> list[GraphSpec]:
    hidden, vocab = model.cfg.hidden, model.cfg.vocab

    def leaf_inputs(batch: int, length: int) -> tuple[torch.Tensor, ...]:
        return (torch.randint(0, vocab, (batch * length,), generator=torch.Generator().manual_seed(batch + length)),)

    def compose_inputs(batch: int, length: int) -> tuple[torch.Tensor, ...]:
        g = torch.Generator().manual_seed(batch * length)
        return tuple(torch.randn(batch * length, hidden, generator=g) for _ in range(4))

    def span_inputs(batch: int, length: int) -> tuple[torch.Tensor, ...]:
        g = torch.Generator().manual_seed(batch * 100 + length)
        ids = torch.randint(1, parser.cfg.vocab, (batch, length), generator=g)
        lengths = torch.full((batch,), length, dtype=torch.int64)
        lengths[0] = max(1, length - 3)
        ids[0, lengths[0] :] = 0
        return ids, lengths

    rows = {n: {0: "nodes"} for n in ("ids", "h", "c", "logp", "hl", "cl", "hr", "cr")}
    spans = {"ids": {0: "batch", 1: "words"}, "lengths": {0: "batch"}, "scores": {0: "batch", 1: "fence", 2: "fence2"}}
    return [
        GraphSpec("leaf", model.leaf, ["ids"], ["h", "c", "logp"], rows, leaf_inputs),
        GraphSpec("compose", model.compose, ["hl", "cl", "hr", "cr"], ["h", "c", "logp"], rows, compose_inputs),
        GraphSpec("span_scores", parser, ["ids", "lengths"], ["scores"], spans, span_inputs),
    ]


def export(out_dir: Path, checkpoint: Path, parser_checkpoint: Path) -> dict[str, Any]:
    model, vocab = load_tree_model(checkpoint)
    parser, parser_vocab = load_parser(parser_checkpoint)
    meta = checkpoint_meta("sentiment", checkpoint, "epoch", model.cfg.to_dict(), CARD)
    parser_meta = {"config": parser.cfg.to_dict(), "vocab": parser_vocab.itos, "checkpoint_sha256": sha256(parser_checkpoint)}
    meta |= {"vocab": vocab.itos, "parser": parser_meta}
    return export_graphs(graph_specs(model, parser), out_dir, meta, example=(3, 7), check=(5, 11))
