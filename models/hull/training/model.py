"""Pointer network for planar convex hulls.

Encoder: a set encoder (self-attention over the points, no positional encoding), so what it learns
about geometry does not depend on point order or count. Position 0 of the memory is a learned END
token; pointing at it ends the hull. Decoder: a GRU cell whose input is the memory of the first and
of the previous chosen point, a multi-head glimpse over the memory, then a pointer attention whose
distribution over input positions *is* the output (Vinyals et al. 2015; glimpse as in Bello et al.
2016). The two halves are separate modules because they are exported as separate graphs: `encode`
runs once per request, `decode_step` once per output step for every live hypothesis.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

NEG_INF = -1e9  # finite, so masked softmax rows never turn into NaN


@dataclass
class PointerNetConfig:
    d_model: int = 128  # width of point embeddings, memory and decoder state
    n_heads: int = 8  # heads in encoder self-attention and in the decoder glimpse
    n_layers: int = 3  # encoder self-attention blocks
    d_ff: int = 512  # hidden width of the encoder feed-forward blocks
    logit_clip: float = 10.0  # C in C * tanh(u): keeps pointer logits bounded (Bello et al.)

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def masked_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Scaled dot-product attention. q (B, H, Tq, dh), k/v (B, H, Tk, dh), valid (B, Tk) bool."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # (B, H, Tq, Tk)
    scores = scores.masked_fill(~valid[:, None, None, :], NEG_INF)
    return torch.softmax(scores, dim=-1) @ v


class EncoderBlock(nn.Module):
    """Pre-LayerNorm self-attention + feed-forward block, written out so that it exports to ONNX."""

    def __init__(self, cfg: PointerNetConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.ff = nn.Sequential(nn.Linear(cfg.d_model, cfg.d_ff), nn.GELU(), nn.Linear(cfg.d_ff, cfg.d_model))

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        heads = [z.reshape(b, t, self.n_heads, d // self.n_heads).transpose(1, 2) for z in (q, k, v)]
        y = masked_attention(*heads, valid).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.ff(self.ln2(x))


class HullEncoder(nn.Module):
    """points (B, N, 2) float, valid (B, N) bool -> memory, glimpse keys/values, pointer keys, h0.

    Every output has N + 1 positions: position 0 is END. Keys are computed here, once per sequence,
    so that decode steps only index them.
    """

    def __init__(self, cfg: PointerNetConfig) -> None:
        super().__init__()
        self.embed = nn.Linear(2, cfg.d_model)
        self.end = nn.Parameter(torch.randn(cfg.d_model) * 0.1)
        self.blocks = nn.ModuleList(EncoderBlock(cfg) for _ in range(cfg.n_layers))
        self.ln = nn.LayerNorm(cfg.d_model)
        self.glimpse_k = nn.Linear(cfg.d_model, cfg.d_model)
        self.glimpse_v = nn.Linear(cfg.d_model, cfg.d_model)
        self.pointer_k = nn.Linear(cfg.d_model, cfg.d_model)
        self.init_h = nn.Linear(cfg.d_model, cfg.d_model)

    def forward(self, points: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, ...]:
        b = points.shape[0]
        # Centre on 0.5 so the unit square is symmetric around the origin for the embedding.
        x = self.embed(points - 0.5)  # (B, N, d)
        x = torch.cat([self.end.expand(b, 1, -1), x], dim=1)  # (B, N+1, d)
        valid = torch.cat([torch.ones_like(valid[:, :1]), valid], dim=1)  # (B, N+1)
        for block in self.blocks:
            x = block(x, valid)
        memory = self.ln(x)
        w = valid.unsqueeze(-1).to(memory.dtype)
        mean = (memory * w).sum(1) / w.sum(1)  # (B, d): mean over real positions only
        h0 = torch.tanh(self.init_h(mean))
        return memory, self.glimpse_k(memory), self.glimpse_v(memory), self.pointer_k(memory), h0


class HullDecoderStep(nn.Module):
    """One pointer step for H hypotheses.

    x (H, 2d): memory of [first chosen, previous chosen] (END's memory before the first step),
    h (H, d), glimpse_k/glimpse_v/pointer_k (H, L, d), valid (H, L) bool
    -> logits (H, L) over input positions (0 = END), new h (H, d).
    """

    def __init__(self, cfg: PointerNetConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.n_heads = cfg.n_heads
        self.clip = cfg.logit_clip
        self.cell = nn.GRUCell(2 * d, d)
        self.q = nn.Linear(d, d)
        self.out = nn.Linear(d, d)
        self.pointer_q = nn.Linear(2 * d, d)

    def forward(
        self,
        x: torch.Tensor,
        h: torch.Tensor,
        glimpse_k: torch.Tensor,
        glimpse_v: torch.Tensor,
        pointer_k: torch.Tensor,
        valid: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n, length, d = glimpse_k.shape
        dh = d // self.n_heads
        h = self.cell(x, h)
        q = self.q(h).reshape(n, self.n_heads, 1, dh)
        k = glimpse_k.reshape(n, length, self.n_heads, dh).transpose(1, 2)
        v = glimpse_v.reshape(n, length, self.n_heads, dh).transpose(1, 2)
        g = self.out(masked_attention(q, k, v, valid).reshape(n, d))  # (H, d)
        pq = self.pointer_q(torch.cat([g, h], dim=-1))  # (H, d)
        u = (pointer_k @ pq.unsqueeze(-1)).squeeze(-1) / math.sqrt(d)  # (H, L)
        logits = self.clip * torch.tanh(u)
        return logits.masked_fill(~valid, NEG_INF), h


class PointerNet(nn.Module):
    """Encoder + decoder step, with a teacher-forced forward pass for training."""

    def __init__(self, cfg: PointerNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = HullEncoder(cfg)
        self.step = HullDecoderStep(cfg)

    def forward(self, points: torch.Tensor, valid: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of `targets` (B, T): memory positions (1..N, 0 = END, -100 = padding)."""
        memory, gk, gv, pk, h = self.encoder(points, valid)
        full_valid = torch.cat([torch.ones_like(valid[:, :1]), valid], dim=1)
        safe = targets.clamp(min=0)
        first = prev = memory[:, 0]
        losses = []
        for t in range(targets.shape[1]):
            logits, h = self.step(torch.cat([first, prev], dim=-1), h, gk, gv, pk, full_valid)
            losses.append(F.cross_entropy(logits, targets[:, t], ignore_index=-100, reduction="none"))
            prev = memory.gather(1, safe[:, t, None, None].expand(-1, 1, memory.shape[-1])).squeeze(1)
            if t == 0:
                first = prev
        loss = torch.stack(losses, dim=1)
        return loss.sum() / (targets != -100).sum()
