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
    cell: str = "lstm"  # "lstm": Tree-LSTM (served); "rntn": Socher et al.'s tensor network (emb == hidden)

    def to_dict(self) -> dict[str, int | float | str]:
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


class RNTNLeaf(nn.Module):
    """RNTN leaves are the word vectors themselves; c is zero (the cells share one interface)."""

    def __init__(self, cfg: TreeLSTMConfig, classify: nn.Module) -> None:
        super().__init__()
        self.embed = nn.Embedding(cfg.vocab, cfg.hidden)
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        self.classify = classify

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.embed(ids)
        return h, torch.zeros_like(h), self.classify(h)


class RNTNCompose(nn.Module):
    """Socher et al. 2013: p = tanh(x^T V x + W x + b), x = [left; right], V a (d, 2d, 2d) tensor."""

    def __init__(self, cfg: TreeLSTMConfig, classify: nn.Module) -> None:
        super().__init__()
        d = cfg.hidden
        self.V = nn.Parameter(torch.randn(d, 2 * d, 2 * d) / (4 * d))
        self.W = nn.Linear(2 * d, d)
        self.classify = classify

    def forward(
        self, hl: torch.Tensor, cl: torch.Tensor, hr: torch.Tensor, cr: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = torch.cat([hl, hr], dim=-1)
        h = torch.tanh(torch.einsum("ni,kij,nj->nk", x, self.V, x) + self.W(x))
        return h, torch.zeros_like(h), self.classify(h)


class TreeLSTM(nn.Module):
    """The tree model: Tree-LSTM cells, or RNTN cells for the comparison in the model card."""

    def __init__(self, cfg: TreeLSTMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        classify = Classifier(cfg)
        rntn = cfg.cell == "rntn"
        self.leaf = (RNTNLeaf if rntn else Leaf)(cfg, classify)
        self.compose = (RNTNCompose if rntn else Compose)(cfg, classify)

    def run(self, p: Plan) -> torch.Tensor:
        """logp (n_nodes, 5) for every node of the plan, in plan numbering."""
        h, c, logp = self.leaf(torch.from_numpy(p.leaf_ids))
        for left, right in p.levels:
            li, ri = torch.from_numpy(left), torch.from_numpy(right)
            h_new, c_new, lp_new = self.compose(h[li], c[li], h[ri], c[ri])
            h, c, logp = torch.cat([h, h_new]), torch.cat([c, c_new]), torch.cat([logp, lp_new])
        return logp
