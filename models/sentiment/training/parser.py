"""A small binarizing parser, so plain sentences get a real tree: span scores + CKY.

A BiLSTM reads the words; each span (i, j) is scored from the difference of the LSTM states at its two
fenceposts (Stern et al. 2017), as the log-odds that the span is a constituent of the SST tree. CKY then
finds the binary tree whose spans have the highest total log-probability. It is trained on the SST train
trees' structure only (labels are the sentiment model's job) and scored by bracket F1 on dev.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from models.sentiment.structure import gold_spans
from models.sentiment.trees import Tree
from models.speech.training.model import BiLSTM


@dataclass
class ParserConfig:
    vocab: int
    emb: int = 100
    hidden: int = 128
    span: int = 128
    dropout: float = 0.3

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)


class SpanScorer(nn.Module):
    """ids (B, n) zero-padded, lengths (B,) -> scores (B, n + 1, n + 1): log-odds that words i..j-1 form a
    constituent, at [b, i, j]. Padding never changes a row's scores (the BiLSTM honours lengths)."""

    def __init__(self, cfg: ParserConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab, cfg.emb)
        self.lstm = BiLSTM(cfg.emb, cfg.hidden)
        self.drop = nn.Dropout(cfg.dropout)
        self.proj_f = nn.Linear(cfg.hidden, cfg.span, bias=False)
        self.proj_b = nn.Linear(cfg.hidden, cfg.span)
        self.score = nn.Linear(cfg.span, 1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.lstm(self.drop(self.embed(ids)), lengths))  # (B, n, 2H)
        fwd, bwd = x.chunk(2, dim=-1)
        zero = torch.zeros_like(fwd[:, :1])
        fence_f = self.proj_f(torch.cat([zero, fwd], dim=1))  # fencepost k: forward state after word k-1
        fence_b = self.proj_b(torch.cat([bwd, zero], dim=1))  # fencepost k: backward state at word k
        # span (i, j): f[j] - f[i] and b[i] - b[j], projected (linear, so project first, then subtract)
        span = fence_f.unsqueeze(1) - fence_f.unsqueeze(2) + fence_b.unsqueeze(2) - fence_b.unsqueeze(1)
        return self.score(F.relu(span)).squeeze(-1)


def span_targets(trees: list[Tree], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, width + 1, width + 1) 0/1 targets and the mask of the spans scored (i < j, j - i >= 2, j <= n)."""
    target = torch.zeros(len(trees), width + 1, width + 1)
    mask = torch.zeros_like(target, dtype=torch.bool)
    for b, t in enumerate(trees):
        n = len(t.leaves())
        i, j = np.triu_indices(n + 1, k=2)
        mask[b, i, j] = True
        for s in gold_spans(t):
            target[b, s[0], s[1]] = 1.0
    return target, mask


def parser_loss(scores: torch.Tensor, trees: list[Tree]) -> torch.Tensor:
    target, mask = span_targets(trees, scores.shape[1] - 1)
    return F.binary_cross_entropy_with_logits(scores[mask], target[mask])
