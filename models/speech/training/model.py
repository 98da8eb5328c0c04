"""Listen, attend and spell (Chan et al. 2016): a pyramidal BiLSTM listener and an attention speller.

The listener runs one BiLSTM over the log-mel frames, then three pyramidal BiLSTM layers, each of which
first concatenates pairs of neighbouring frames, so the speller attends over 8x fewer steps (80 ms each)
than there are 10 ms frames: attention over long audio is both cheaper and easier to learn.
The speller is the translation model's decoder step (models/translate/training/model.py: additive attention,
input feeding, tied output embeddings) over characters, with the copy switch off. Sharing it means one
decode-step graph shape and one beam search serve both tasks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from models.speech.chars import CHARS
from models.speech.features import N_MELS
from models.translate.training.model import DecoderStep, Seq2SeqConfig, reverse_within_length, teacher_forced_loss


@dataclass
class LASConfig:
    n_mels: int = N_MELS
    listener: int = 128  # LSTM width per direction
    pyramid_layers: int = 3
    speller: int = 256  # decoder GRU width
    emb: int = 64  # character embedding width
    attn: int = 128
    dropout: float = 0.2

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)

    def speller_config(self) -> Seq2SeqConfig:
        return Seq2SeqConfig(src_vocab=0, tgt_vocab=len(CHARS), emb=self.emb, enc_hidden=self.listener,
                             dec_hidden=self.speller, attn=self.attn, dropout=self.dropout, copy=False)  # fmt: skip


class BiLSTM(nn.Module):
    """Bidirectional LSTM whose backward pass runs over each row reversed within its own length, so
    padding never leaks into real frames: a padded batch gives the same numbers as each row alone."""

    def __init__(self, inp: int, hidden: int) -> None:
        super().__init__()
        self.fwd = nn.LSTM(inp, hidden, batch_first=True)
        self.bwd = nn.LSTM(inp, hidden, batch_first=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        idx = reverse_within_length(lengths, x.shape[1]).unsqueeze(-1)
        fwd, _ = self.fwd(x)
        bwd_rev, _ = self.bwd(x.gather(1, idx.expand(-1, -1, x.shape[-1])))
        mask = (torch.arange(x.shape[1], device=x.device).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1)
        return torch.cat([fwd, bwd_rev.gather(1, idx.expand(-1, -1, bwd_rev.shape[-1]))], dim=-1) * mask


class Listener(nn.Module):
    """feats (B, T, n_mels) zero-padded with T a multiple of 8, lengths (B,)
    -> memory (B, T / 8, 2L), keys (B, T / 8, A), h0 (B, Hd), mem_len (B,) = ceil(lengths / 8)."""

    def __init__(self, cfg: LASConfig) -> None:
        super().__init__()
        w = 2 * cfg.listener
        self.layers = nn.ModuleList([BiLSTM(cfg.n_mels, cfg.listener)])
        self.layers.extend(BiLSTM(2 * w, cfg.listener) for _ in range(cfg.pyramid_layers))
        self.drop = nn.Dropout(cfg.dropout)
        self.keys = nn.Linear(w, cfg.attn, bias=False)
        self.init = nn.Linear(w, cfg.speller)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.layers[0](feats, lengths)
        for layer in self.layers[1:]:
            x = x.reshape(x.shape[0], -1, 2 * x.shape[2])  # an odd last frame pairs with (zero) padding
            lengths = torch.div(lengths + 1, 2, rounding_mode="floor")
            x = layer(self.drop(x), lengths)
        mean = x.sum(1) / lengths.unsqueeze(1).to(x.dtype)
        return x, self.keys(x), torch.tanh(self.init(mean)), lengths


class LAS(nn.Module):
    def __init__(self, cfg: LASConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.listener = Listener(cfg)
        self.step = DecoderStep(cfg.speller_config())

    def forward(
        self, feats: torch.Tensor, lengths: torch.Tensor, tgt_in: torch.Tensor, tgt_out: torch.Tensor,
        label_smoothing: float = 0.0, sample_prob: float = 0.0,
    ) -> torch.Tensor:  # fmt: skip
        memory, keys, h, mem_len = self.listener(feats, lengths)
        mask = torch.arange(memory.shape[1]).unsqueeze(0) < mem_len.unsqueeze(1)
        no_copy = torch.zeros(mask.shape, dtype=torch.int64)
        return teacher_forced_loss(self.step, memory, keys, h, mask, no_copy, tgt_in, tgt_out, 0,
                                   label_smoothing, sample_prob)  # fmt: skip
