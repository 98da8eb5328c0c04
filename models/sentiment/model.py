"""Binary constituency Tree-LSTM (Tai et al. 2015) with a 5-class sentiment softmax at every node.

Trees are computed level by level: every node of height h, across every tree of a batch, is composed in
one call, from children of lower heights. `plan` lays a batch of trees out that way (numpy indices, shared
by training and the server), `TreeLSTM.run` walks the plan in torch, and the two exported graphs are the
per-level cells: `leaf` (word ids -> states) and `compose` (children's states -> parent's).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from models.sentiment.structure import Plan

N_CLASSES = 5


@dataclass
class TreeLSTMConfig:
    vocab: int
    emb: int = 200
    hidden: int = 150
    dropout: float = 0.5

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)


class Leaf(nn.Module):
    """word ids (N,) -> h (N, H), c (N, H), logp (N, 5)."""

    def __init__(self, cfg: TreeLSTMConfig, classify: nn.Module) -> None:
        super().__init__()
        self.embed = nn.Embedding(cfg.vocab, cfg.emb)
        self.gates = nn.Linear(cfg.emb, 3 * cfg.hidden)
        self.drop = nn.Dropout(cfg.dropout)
        self.classify = classify

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        i, o, u = self.gates(self.drop(self.embed(ids))).chunk(3, dim=-1)
        c = torch.sigmoid(i) * torch.tanh(u)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c, self.classify(h)


class Compose(nn.Module):
    """Binary Tree-LSTM cell: (hl, cl, hr, cr) each (N, H) -> h, c, logp; a forget gate per child."""

    def __init__(self, cfg: TreeLSTMConfig, classify: nn.Module) -> None:
        super().__init__()
        self.gates = nn.Linear(2 * cfg.hidden, 5 * cfg.hidden)
        self.classify = classify

    def forward(
        self, hl: torch.Tensor, cl: torch.Tensor, hr: torch.Tensor, cr: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        i, fl, fr, o, u = self.gates(torch.cat([hl, hr], dim=-1)).chunk(5, dim=-1)
        c = torch.sigmoid(i) * torch.tanh(u) + torch.sigmoid(fl) * cl + torch.sigmoid(fr) * cr
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c, self.classify(h)


class Classifier(nn.Module):
    def __init__(self, cfg: TreeLSTMConfig) -> None:
        super().__init__()
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.hidden, N_CLASSES)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.out(self.drop(h)), dim=-1)


class TreeLSTM(nn.Module):
    def __init__(self, cfg: TreeLSTMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        classify = Classifier(cfg)
        self.leaf = Leaf(cfg, classify)
        self.compose = Compose(cfg, classify)

    def run(self, p: Plan) -> torch.Tensor:
        """logp (n_nodes, 5) for every node of the plan, in plan numbering."""
        h, c, logp = self.leaf(torch.from_numpy(p.leaf_ids))
        for left, right in p.levels:
            li, ri = torch.from_numpy(left), torch.from_numpy(right)
            h_new, c_new, lp_new = self.compose(h[li], c[li], h[ri], c[ri])
            h, c, logp = torch.cat([h, h_new]), torch.cat([c, c_new]), torch.cat([logp, lp_new])
        return logp
