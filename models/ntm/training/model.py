"""Neural Turing Machine (Graves et al. 2014) with the choices Collier & Beel (2018) found to train reliably.

    from models.ntm.training.model import NTM, NTMConfig
    logits, w_read, w_write = NTM(NTMConfig())(inputs)  # inputs (B, T, bits + 1)

An LSTM controller reads [x_t, previous read vector]; a linear layer turns its output into the parameters of
one read head and one write head (content addressing, interpolation, circular shift, sharpening; the write head
also has erase and add vectors). Both heads address the memory as it was before this step's write, and the
output is a linear layer on [controller h, this step's read vector]. Memory starts at the constant 1e-6 (their
best initialisation, ~2x faster than learned or random), the read vector and controller state start at learned
biases, and both heads start focused on row 0.

`NTMStep` is one time step as a pure function of tensors with a leading batch dimension, so that it exports to
ONNX as a single graph and the caller owns the state; `NTM` adds the initial state and the loop over time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

MEMORY_INIT = 1e-6  # Collier & Beel: small constant memory contents
EPS = 1e-8  # keeps cosine similarity and sharpening finite when a row or a weight is ~0

State = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass
class NTMConfig:
    bits: int = 8  # data bits per vector; the input has bits + 1 channels (the extra one flags the delimiter)
    controller: int = 100  # LSTM controller hidden size
    mem_rows: int = 128  # N: memory locations
    mem_cols: int = 20  # M: width of a memory row
    shift: int = 1  # the heads can shift their focus by -shift..shift rows per step
    clip: float = 20.0  # controller outputs (head parameters, logits) are clipped to +-clip, as Collier & Beel

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NTMConfig:
        return cls(**d)

    @property
    def head_params(self) -> int:
        """Per head: key (M), beta, g, shift weights (2 * shift + 1), gamma."""
        return self.mem_cols + 3 + 2 * self.shift + 1


def content_weights(memory: torch.Tensor, key: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """memory (B, N, M), key (B, H, M), beta (B, H, 1) -> softmax over rows of beta * cosine(key, row), (B, H, N)."""
    dot = key @ memory.transpose(1, 2)  # (B, H, N)
    # sqrt(x + EPS^2) rather than a norm op: finite gradient even if a row is erased to exactly 0
    row_norms = torch.sqrt((memory * memory).sum(-1) + EPS * EPS).unsqueeze(1)  # (B, 1, N)
    key_norms = torch.sqrt((key * key).sum(-1, keepdim=True) + EPS * EPS)  # (B, H, 1)
    return torch.softmax(beta * dot / (row_norms * key_norms), dim=-1)


def circular_shift(w: torch.Tensor, s: torch.Tensor, shift: int) -> torch.Tensor:
    """w (B, H, N), s (B, H, 2 * shift + 1) over offsets -shift..shift -> (B, H, N): w~(i) = sum_d s(d) w(i - d)."""
    out = torch.zeros_like(w)
    for i, d in enumerate(range(-shift, shift + 1)):
        out = out + s[..., i : i + 1] * torch.roll(w, d, dims=-1)
    return out


def sharpen(w: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """w^gamma renormalised over the last axis, computed as softmax(gamma * log w): w^gamma underflows float32."""
    return torch.softmax(gamma * torch.log(w + EPS), dim=-1)


def address(params: torch.Tensor, memory: torch.Tensor, w_prev: torch.Tensor, cfg: NTMConfig) -> torch.Tensor:
    """New weights (B, H, N) of H heads at once (fewer, larger ops: the step is overhead-bound on CPU) from
    their raw parameters (B, H, head_params), memory (B, N, M) and previous weights w_prev (B, H, N)."""
    m = cfg.mem_cols
    key = torch.tanh(params[..., :m])  # (B, H, M), same range as the memory contents (add vectors are tanh too)
    beta = F.softplus(params[..., m : m + 1])  # (B, H, 1) key strength >= 0
    g = torch.sigmoid(params[..., m + 1 : m + 2])  # (B, H, 1) 1 = content, 0 = previous weights
    s = torch.softmax(params[..., m + 2 : m + 3 + 2 * cfg.shift], dim=-1)  # (B, H, 2 * shift + 1)
    gamma = 1 + F.softplus(params[..., -1:])  # (B, H, 1) sharpening >= 1
    w = g * content_weights(memory, key, beta) + (1 - g) * w_prev
    return sharpen(circular_shift(w, s, cfg.shift), gamma)


class NTMStep(nn.Module):
    """One time step. x (B, bits + 1), read (B, M), h / c (B, H), memory (B, N, M), w_read / w_write (B, N)
    -> logits (B, bits) and the new read, h, c, memory, w_read, w_write (same shapes). No state is kept here."""

    def __init__(self, cfg: NTMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.cell = nn.LSTMCell(cfg.bits + 1 + cfg.mem_cols, cfg.controller)
        with torch.no_grad():  # forget-gate bias 1, as the TensorFlow LSTM Collier & Beel used
            self.cell.bias_ih[cfg.controller : 2 * cfg.controller].fill_(1.0)
            self.cell.bias_hh[cfg.controller : 2 * cfg.controller].zero_()
        self.heads = nn.Linear(cfg.controller, 2 * cfg.head_params + 2 * cfg.mem_cols)  # read head, write head, erase, add
        self.out = nn.Linear(cfg.controller + cfg.mem_cols, cfg.bits)

    def forward(
        self,
        x: torch.Tensor,
        read: torch.Tensor,
        h: torch.Tensor,
        c: torch.Tensor,
        memory: torch.Tensor,
        w_read: torch.Tensor,
        w_write: torch.Tensor,
    ) -> tuple[torch.Tensor, ...]:
        cfg, p = self.cfg, self.cfg.head_params
        h, c = self.cell(torch.cat([x, read], dim=-1), (h, c))
        params = self.heads(h).clamp(-cfg.clip, cfg.clip)  # (B, 2p + 2M)
        w = address(params[:, : 2 * p].reshape(-1, 2, p), memory, torch.stack([w_read, w_write], 1), cfg)  # (B, 2, N)
        w_read, w_write = w[:, 0], w[:, 1]
        read = (w_read.unsqueeze(1) @ memory).squeeze(1)  # (B, M), from the memory before this step's write
        erase = torch.sigmoid(params[:, 2 * p : 2 * p + cfg.mem_cols]).unsqueeze(1)  # (B, 1, M)
        add = torch.tanh(params[:, 2 * p + cfg.mem_cols :]).unsqueeze(1)  # (B, 1, M)
        # M (1 - w e) + w a, rearranged to M + w (a - e M): one (B, N, M) op fewer, and this is the step's hot spot
        memory = memory + w_write.unsqueeze(-1) * (add - erase * memory)  # (B, N, M)
        logits = self.out(torch.cat([h, read], dim=-1)).clamp(-cfg.clip, cfg.clip)  # (B, bits)
        return logits, read, h, c, memory, w_read, w_write


class NTM(nn.Module):
    """The step module plus the learned initial state and the loop over time."""

    def __init__(self, cfg: NTMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.step = NTMStep(cfg)
        # Learned biases (passed through tanh, like the LSTM state they stand for): Collier & Beel's initialisation.
        self.read0 = nn.Parameter(torch.randn(cfg.mem_cols) * 0.1)
        self.h0 = nn.Parameter(torch.randn(cfg.controller) * 0.1)
        self.c0 = nn.Parameter(torch.randn(cfg.controller) * 0.1)
        self.register_buffer("memory0", torch.full((cfg.mem_rows, cfg.mem_cols), MEMORY_INIT))
        self.register_buffer("w0", F.one_hot(torch.tensor(0), cfg.mem_rows).float())  # both heads start at row 0

    def initial_state(self, batch: int) -> State:
        """(read (B, M), h (B, H), c (B, H), memory (B, N, M), w_read (B, N), w_write (B, N))."""
        cfg = self.cfg
        return (
            torch.tanh(self.read0).expand(batch, cfg.mem_cols),
            torch.tanh(self.h0).expand(batch, cfg.controller),
            torch.tanh(self.c0).expand(batch, cfg.controller),
            self.memory0.expand(batch, cfg.mem_rows, cfg.mem_cols),
            self.w0.expand(batch, cfg.mem_rows),
            self.w0.expand(batch, cfg.mem_rows),
        )

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """inputs (B, T, bits + 1) -> logits (B, T, bits), read weights (B, T, N), write weights (B, T, N)."""
        state = self.initial_state(inputs.shape[0])
        logits, reads, writes = [], [], []
        for t in range(inputs.shape[1]):
            out, *rest = self.step(inputs[:, t], *state)
            state = tuple(rest)
            logits.append(out)
            reads.append(state[4])
            writes.append(state[5])
        return torch.stack(logits, 1), torch.stack(reads, 1), torch.stack(writes, 1)
