"""End-to-End Memory Network (Sukhbaatar et al. 2015): position encoding, temporal encoding, K hops with
adjacent weight tying, linear start (a flag of `forward`).

    logits, hops = MemN2N(cfg)(story, question)   # story (B, M, J) word ids, newest sentence first; question (B, J)
    logits, hops = MemN2NEnsemble([m1, m2, ...])(story, question)   # the same, members' answers averaged

Options (MemN2NConfig): `encoding="bow"` for the paper's bag-of-words ablation; `gated=True` for GMemN2N's
gate between hops (Liu & Perez 2017, global per-hop gates: u' = o * T(u) + u * (1 - T(u))).

Adjacent tying: the memory embedding of hop k+1 is the output embedding of hop k, and the question embedding is
the first memory embedding, so K hops have K + 1 word embeddings (and K + 1 temporal ones). The answer layer
is a linear map of the final controller state onto answer classes (bAbI's answers, lists and paths included,
each one class). Word id 0 pads and embeds to zeros; a memory slot whose words are all padding is masked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn


@dataclass
class MemN2NConfig:
    vocab: int
    answers: int
    dim: int = 50
    hops: int = 3
    memory: int = 50  # sentences held (the most recent)
    encoding: str = "position"  # or "bow": a plain bag of words (the paper's ablation)
    gated: bool = False  # GMemN2N (Liu & Perez 2017): a learned gate between hops instead of u + o

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def position_weights(ids: torch.Tensor, dim: int) -> torch.Tensor:
    """(..., J) word ids -> (..., J, dim) position-encoding weights l_kj = (1 - j/J) - (k/d)(1 - 2j/J), J the
    sentence's own length (its non-padding words), zero on padding."""
    present = (ids != 0).to(torch.float32)
    length = present.sum(-1, keepdim=True).clamp(min=1.0)  # (..., 1)
    j = torch.arange(1, ids.shape[-1] + 1, dtype=torch.float32) / length  # (..., J): j / J
    k = torch.arange(1, dim + 1, dtype=torch.float32) / dim  # (d,)
    weights = (1 - j).unsqueeze(-1) - k * (1 - 2 * j).unsqueeze(-1)
    return weights * present.unsqueeze(-1)


class MemN2N(nn.Module):
    def __init__(self, cfg: MemN2NConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.words = nn.ModuleList(nn.Embedding(cfg.vocab, cfg.dim, padding_idx=0) for _ in range(cfg.hops + 1))
        self.times = nn.ModuleList(nn.Embedding(cfg.memory, cfg.dim) for _ in range(cfg.hops + 1))
        self.answer = nn.Linear(cfg.dim, cfg.answers, bias=False)
        self.gates = nn.ModuleList(nn.Linear(cfg.dim, cfg.dim) for _ in range(cfg.hops if cfg.gated else 0))
        for p in self.parameters():
            nn.init.normal_(p, std=0.1)
        with torch.no_grad():
            for e in self.words:
                e.weight[0].zero_()

    def embed(self, k: int, ids: torch.Tensor) -> torch.Tensor:
        """Position-encoded (or plain) bag of words with embedding k: (..., J) -> (..., dim)."""
        if self.cfg.encoding == "bow":
            return self.words[k](ids).sum(-2)  # padding embeds to zero
        return (self.words[k](ids) * position_weights(ids, self.cfg.dim)).sum(-2)

    def forward(self, story: torch.Tensor, question: torch.Tensor, linear: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """-> answer logits (B, answers), attention of each hop over the memory slots (B, hops, M)."""
        present = (story != 0).any(-1)  # (B, M)
        slots = torch.arange(story.shape[1])
        u = self.embed(0, question)  # (B, d)
        hops = []
        for k in range(self.cfg.hops):
            memory = self.embed(k, story) + self.times[k](slots)  # (B, M, d)
            output = self.embed(k + 1, story) + self.times[k + 1](slots)
            scores = (memory @ u.unsqueeze(-1)).squeeze(-1)  # (B, M)
            if linear:  # linear start: no softmax while the model finds its footing
                p = scores.masked_fill(~present, 0.0)
            else:
                p = torch.softmax(scores.masked_fill(~present, -1e9), dim=-1)
            o = (p.unsqueeze(-1) * output).sum(1)
            if self.cfg.gated:  # GMemN2N's gate T = sigmoid(W u + b) decides how much of the hop to take
                t = torch.sigmoid(self.gates[k](u))
                u = o * t + u * (1 - t)
            else:
                u = u + o
            hops.append(p)
        return self.answer(u), torch.stack(hops, 1)


def joinable(a: MemN2NConfig, b: MemN2NConfig) -> bool:
    """Whether two memory networks can be ensembled: they read the same inputs and attend in the same number
    of hops over the same memory (gates, encoding and width may differ)."""
    return (a.vocab, a.answers, a.hops, a.memory) == (b.vocab, b.answers, b.hops, b.memory)


class MemN2NEnsemble(nn.Module):
    """Several memory networks (same vocabularies, same hops and memory; see `joinable`) as one: the answer
    distribution is the mean of the members' (returned as its log, so it stands in for logits everywhere:
    softmax gives the mean back), and each hop's attention is the members' mean, so the answer still shows
    where it looked."""

    def __init__(self, members: list[MemN2N]) -> None:
        super().__init__()
        first = members[0].cfg
        assert all(joinable(m.cfg, first) for m in members), "ensemble members read different inputs or hops"
        self.cfg = first
        self.configs = [m.cfg for m in members]
        self.members = nn.ModuleList(members)

    def forward(self, story: torch.Tensor, question: torch.Tensor, linear: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        outs = [m(story, question, linear=linear) for m in self.members]
        probs = torch.stack([torch.softmax(logits, -1) for logits, _ in outs]).mean(0)
        return torch.log(probs.clamp(min=1e-12)), torch.stack([hops for _, hops in outs]).mean(0)
