"""Export the memory network (or an ensemble of them, as one graph): `answer` (story, question) -> (answer
probabilities, each hop's attention over the story's sentences), any batch, number of sentences (up to the
model's memory) and words; and the vocabularies (`vocab.json`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from export.common import GraphSpec, checkpoint_meta, export_graphs
from models.qa.training.checkpoint import QAModel, load_checkpoint
from models.qa.training.model import MemN2NEnsemble

ROOT = Path(__file__).resolve().parents[2]
CARD = ROOT / "models" / "qa" / "card.json"


class Answer(nn.Module):
    """The served form: softmax over answers (the trained model gives logits)."""

    def __init__(self, model: QAModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, story: torch.Tensor, question: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, hops = self.model(story, question)
        return torch.softmax(logits, dim=-1), hops


def graph_spec(model: QAModel) -> GraphSpec:
    cfg = model.cfg

    def inputs(batch: int, words: int) -> tuple[torch.Tensor, ...]:
        g = torch.Generator().manual_seed(batch * 100 + words)
        slots = min(cfg.memory, 3 * words)
        story = torch.randint(0, cfg.vocab, (batch, slots, words), generator=g)
        story[:, :, -2:] = 0  # padding words
        story[0, slots // 2 :] = 0  # a story shorter than the others: empty slots
        return story, torch.randint(1, cfg.vocab, (batch, words), generator=g)

    axes = {"story": {0: "batch", 1: "slots", 2: "words"}, "question": {0: "batch", 1: "words"},
            "probs": {0: "batch"}, "hops": {0: "batch", 2: "slots"}}  # fmt: skip
    return GraphSpec("answer", Answer(model), ["story", "question"], ["probs", "hops"], axes, inputs)


def export(out_dir: Path, checkpoint: Path) -> dict[str, Any]:
    model, vocab = load_checkpoint(checkpoint)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "vocab.json").write_text(vocab.to_json())
    members = len(model.members) if isinstance(model, MemN2NEnsemble) else 1
    config = {**model.cfg.to_dict(), "members": members}
    if isinstance(model, MemN2NEnsemble):
        config["each"] = [c.to_dict() for c in model.configs]
    meta = checkpoint_meta("qa", checkpoint, "epoch", config, CARD)
    return export_graphs([graph_spec(model)], out_dir, meta, example=(2, 6), check=(5, 9))
