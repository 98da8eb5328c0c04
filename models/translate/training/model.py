"""Bidirectional GRU encoder + Bahdanau-attention GRU decoder with a pointer-generator copy switch.

Attention is additive (Bahdanau et al. 2015) rather than Luong's dot/general: the source side of the
score, W_k h_j, is a per-sequence projection that the `encode` graph computes once, and additive
scoring is the better-tested choice for small RNN models. The decoder feeds the previous context back
in (input feeding), so it knows what it attended to last. The copy switch p_gen (See et al. 2017)
mixes generation over the target vocabulary with copying source words through the attention.

`Encoder` and `DecoderStep` are exported as separate graphs; `Seq2Seq.forward` is the training pass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from models.tokens import PAD_ID, UNK_ID

NEG_INF = -1e9
EPS = 1e-9


@dataclass
class Seq2SeqConfig:
    src_vocab: int  # source (German) vocabulary size
    tgt_vocab: int  # target (English) vocabulary size
    emb: int = 256  # word embedding width (target embeddings double as the output layer)
    enc_hidden: int = 256  # encoder GRU width per direction
    dec_hidden: int = 512  # decoder GRU width
    attn: int = 256  # additive attention width
    dropout: float = 0.3  # on embeddings and the readout
    copy: bool = True  # pointer-generator copy switch; False = plain attention decoder
    enc_layers: int = 1  # bidirectional GRU layers in the encoder; layers past the first add to it (residual)

    def to_dict(self) -> dict[str, int | float | bool]:
        return asdict(self)


def reverse_within_length(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """(B, S) gather index that reverses each row's first `length` positions and keeps the padding after."""
    pos = torch.arange(width, device=lengths.device).unsqueeze(0)  # (1, S)
    last = (lengths - 1).unsqueeze(1)  # (B, 1)
    return torch.where(pos <= last, last - pos, pos)


def bidirectional(fwd: nn.GRU, bwd: nn.GRU, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """x (B, S, I), idx (B, S, 1) from reverse_within_length -> (B, S, 2H): forward and backward, concatenated.

    The backward GRU runs over each sentence reversed within its own length, so padding (always at the
    end) never flows into a real position in either direction: a padded batch gives the same numbers as
    each sentence alone.
    """
    out_fwd, _ = fwd(x)
    out_rev, _ = bwd(x.gather(1, idx.expand(-1, -1, x.shape[-1])))
    return torch.cat([out_fwd, out_rev.gather(1, idx.expand(-1, -1, out_rev.shape[-1]))], dim=-1)


class BiGRU(nn.Module):
    """An encoder layer past the first: (B, S, 2He) -> (B, S, 2He)."""

    def __init__(self, inputs: int, hidden: int) -> None:
        super().__init__()
        self.fwd = nn.GRU(inputs, hidden, batch_first=True)
        self.bwd = nn.GRU(inputs, hidden, batch_first=True)

    def forward(self, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return bidirectional(self.fwd, self.bwd, x, idx)


class Encoder(nn.Module):
    """src (B, S) ids, src_len (B,) -> memory (B, S, 2He), keys (B, S, A), h0 (B, Hd).

    The first layer's GRUs keep the one-layer encoder's names (fwd, bwd), so checkpoints from before
    `enc_layers` still load; each further layer (upper) adds its output to its input.
    """

    def __init__(self, cfg: Seq2SeqConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(cfg.src_vocab, cfg.emb, padding_idx=PAD_ID)
        self.fwd = nn.GRU(cfg.emb, cfg.enc_hidden, batch_first=True)
        self.bwd = nn.GRU(cfg.emb, cfg.enc_hidden, batch_first=True)
        self.upper = nn.ModuleList(BiGRU(2 * cfg.enc_hidden, cfg.enc_hidden) for _ in range(cfg.enc_layers - 1))
        self.drop = nn.Dropout(cfg.dropout)
        self.keys = nn.Linear(2 * cfg.enc_hidden, cfg.attn, bias=False)
        self.init = nn.Linear(2 * cfg.enc_hidden, cfg.dec_hidden)

    def forward(self, src: torch.Tensor, src_len: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s = src.shape[1]
        x = self.drop(self.embed(src))  # (B, S, E)
        idx = reverse_within_length(src_len, s).unsqueeze(-1)  # (B, S, 1)
        mask = (torch.arange(s, device=src.device).unsqueeze(0) < src_len.unsqueeze(1)).unsqueeze(-1)
        memory = bidirectional(self.fwd, self.bwd, x, idx) * mask  # (B, S, 2He), zero on padding
        for layer in self.upper:  # residual, so a deeper encoder starts out close to the shallow one
            memory = (memory + layer(self.drop(memory), idx)) * mask
        mean = memory.sum(1) / src_len.unsqueeze(1).to(memory.dtype)
        return memory, self.keys(memory), torch.tanh(self.init(mean))


class DecoderStep(nn.Module):
    """One step for H hypotheses.

    y_prev (H,) target ids (extended ids already mapped to <unk>), h (H, Hd), ctx (H, 2He),
    memory (H, S, 2He), keys (H, S, A), mask (H, S) bool
    -> logp_vocab (H, V) generation log-probs, attn (H, S), p_gen (H,), h (H, Hd), ctx (H, 2He).
    The final distribution p_gen * P_vocab + (1 - p_gen) * copy(attn) is formed by the caller,
    because the extended vocabulary differs per sentence.
    """

    def __init__(self, cfg: Seq2SeqConfig) -> None:
        super().__init__()
        c = 2 * cfg.enc_hidden
        self.copy = cfg.copy
        self.embed = nn.Embedding(cfg.tgt_vocab, cfg.emb, padding_idx=PAD_ID)
        self.drop = nn.Dropout(cfg.dropout)
        self.cell = nn.GRUCell(cfg.emb + c, cfg.dec_hidden)
        self.query = nn.Linear(cfg.dec_hidden, cfg.attn)
        self.v = nn.Linear(cfg.attn, 1, bias=False)
        self.readout = nn.Linear(cfg.dec_hidden + c + cfg.emb, cfg.emb)
        self.out_bias = nn.Parameter(torch.zeros(cfg.tgt_vocab))
        self.gen = nn.Linear(cfg.dec_hidden + c + cfg.emb, 1)

    def forward(
        self,
        y_prev: torch.Tensor,
        h: torch.Tensor,
        ctx: torch.Tensor,
        memory: torch.Tensor,
        keys: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        logits, attn, p_gen, h, ctx = self.scores(y_prev, h, ctx, memory, keys, mask)
        return F.log_softmax(logits, dim=-1), attn, p_gen, h, ctx

    def scores(
        self, y_prev: torch.Tensor, h: torch.Tensor, ctx: torch.Tensor, memory: torch.Tensor, keys: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        """As forward, with the vocabulary's logits in place of log-probabilities (an ensemble mixes probabilities)."""
        e = self.drop(self.embed(y_prev))  # (H, E)
        h = self.cell(torch.cat([e, ctx], dim=-1), h)  # (H, Hd)
        scores = self.v(torch.tanh(keys + self.query(h).unsqueeze(1))).squeeze(-1)  # (H, S)
        attn = torch.softmax(scores.masked_fill(~mask, NEG_INF), dim=-1)
        ctx = (attn.unsqueeze(1) @ memory).squeeze(1)  # (H, 2He)
        feats = torch.cat([h, ctx, e], dim=-1)
        r = self.drop(torch.tanh(self.readout(feats)))  # (H, E)
        logits = r @ self.embed.weight.t() + self.out_bias  # tied to the target embeddings
        p_gen = torch.sigmoid(self.gen(feats)).squeeze(-1) if self.copy else torch.ones_like(h[:, 0])
        return logits, attn, p_gen, h, ctx


def final_distribution(
    logp_vocab: torch.Tensor, attn: torch.Tensor, p_gen: torch.Tensor, src_ext: torch.Tensor, n_oov: int
) -> torch.Tensor:
    """(H, V + n_oov) probabilities: p_gen * P_vocab, plus (1 - p_gen) * attention scattered onto source words."""
    gen = p_gen.unsqueeze(-1) * logp_vocab.exp()
    gen = torch.cat([gen, gen.new_zeros(gen.shape[0], n_oov)], dim=-1)
    return gen.scatter_add(1, src_ext, (1 - p_gen).unsqueeze(-1) * attn)


class Seq2Seq(nn.Module):
    def __init__(self, cfg: Seq2SeqConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.step = DecoderStep(cfg)

    def forward(
        self,
        src: torch.Tensor,
        src_len: torch.Tensor,
        src_ext: torch.Tensor,
        tgt_in: torch.Tensor,
        tgt_out: torch.Tensor,
        n_oov: int,
        label_smoothing: float = 0.0,
        sample_prob: float = 0.0,
    ) -> torch.Tensor:
        """Mean token loss (see `teacher_forced_loss`)."""
        memory, keys, h = self.encoder(src, src_len)
        return teacher_forced_loss(self.step, memory, keys, h, src != PAD_ID, src_ext, tgt_in, tgt_out, n_oov,
                                   label_smoothing, sample_prob)  # fmt: skip


def teacher_forced_loss(
    step: DecoderStep,
    memory: torch.Tensor,
    keys: torch.Tensor,
    h: torch.Tensor,
    mask: torch.Tensor,
    src_ext: torch.Tensor,
    tgt_in: torch.Tensor,
    tgt_out: torch.Tensor,
    n_oov: int,
    label_smoothing: float = 0.0,
    sample_prob: float = 0.0,
) -> torch.Tensor:
    """Mean token loss of a decoder over an encoded batch (any encoder: words here, audio in models/speech).

    With sample_prob > 0, each decoder input is replaced by the model's own previous prediction with that
    probability (scheduled sampling, Bengio et al. 2015). Without a copy switch p_gen is 1 and src_ext
    only needs the right shape.
    """
    vocab = step.embed.num_embeddings
    ctx = memory.new_zeros(memory.shape[0], memory.shape[-1])
    valid = tgt_out != PAD_ID
    losses = []
    y = tgt_in[:, 0]
    for t in range(tgt_in.shape[1]):
        logp, attn, p_gen, h, ctx = step(y, h, ctx, memory, keys, mask)
        p = final_distribution(logp, attn, p_gen, src_ext, n_oov)
        logp_final = (p + EPS).log()
        nll = -logp_final.gather(1, tgt_out[:, t : t + 1]).squeeze(1)
        if label_smoothing:
            smooth = -logp_final[:, :vocab].mean(dim=-1)
            nll = (1 - label_smoothing) * nll + label_smoothing * smooth
        losses.append(nll)
        if t + 1 < tgt_in.shape[1]:
            y = tgt_in[:, t + 1]
            if sample_prob > 0:
                pred = p.argmax(-1).detach()
                pred = torch.where(pred >= vocab, torch.full_like(pred, UNK_ID), pred)
                use = torch.rand(pred.shape, device=pred.device) < sample_prob
                y = torch.where(use, pred, y)
    loss = torch.stack(losses, dim=1)
    return (loss * valid).sum() / valid.sum()
