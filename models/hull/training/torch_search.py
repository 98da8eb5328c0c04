"""Batched greedy decoding in torch, for validation during training only.

Serving and `make eval` use the numpy search in `models.hull.search`, over exported graphs.
"""

from __future__ import annotations

import numpy as np
import torch

from models.hull.geometry import rotate_to_lowest
from models.hull.training.data import decode_order
from models.hull.training.model import PointerNet


@torch.no_grad()
def greedy_positions(model: PointerNet, points: torch.Tensor, max_steps: int) -> np.ndarray:
    """(B, max_steps) chosen memory positions (0 = END); unconstrained argmax."""
    model.eval()
    b, n, _ = points.shape
    valid = torch.ones(b, n, dtype=torch.bool)
    memory, gk, gv, pk, h = model.encoder(points, valid)
    full_valid = torch.ones(b, n + 1, dtype=torch.bool)
    first = prev = memory[:, 0]
    chosen = []
    for t in range(max_steps):
        logits, h = model.step(torch.cat([first, prev], dim=-1), h, gk, gv, pk, full_valid)
        idx = logits.argmax(-1)
        chosen.append(idx)
        prev = memory[torch.arange(b), idx]
        if t == 0:
            first = prev
    return torch.stack(chosen, 1).numpy()


def greedy_accuracy(model: PointerNet, points: np.ndarray) -> float:
    positions = greedy_positions(model, torch.from_numpy(points), max_steps=points.shape[1] + 1)
    correct = 0
    for pts, row in zip(points, positions, strict=True):
        ends = np.nonzero(row == 0)[0]
        if len(ends) == 0:
            continue
        pred = [int(p) - 1 for p in row[: ends[0]]]
        correct += rotate_to_lowest(pred) == rotate_to_lowest(decode_order(pts))
    return correct / len(points)
