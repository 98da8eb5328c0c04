"""Sequence-level losses over sampled outputs, each scored by a sequence metric (CIDEr-D, sentence BLEU):
self-critical sequence training (Rennie et al. 2017; REINFORCE minus a baseline that needs no learned
critic), shared by the captioner and the translation model, and minimum risk training (Shen et al. 2016)."""

from __future__ import annotations

import torch


def baseline(rewards: torch.Tensor, samples: int, greedy: torch.Tensor | None) -> torch.Tensor:
    """Per sample (N * samples,): the reward of its input's greedy output (the paper's baseline) when given
    (N,), or else the mean reward of the input's other samples (Luo 2020), which costs no extra decode."""
    if greedy is not None:
        return greedy.repeat_interleave(samples)
    r = rewards.view(-1, samples)
    return ((r.sum(1, keepdim=True) - r) / (samples - 1)).flatten()


def reinforce_loss(rewards: torch.Tensor, base: torch.Tensor, logp_sum: torch.Tensor, tokens: int) -> torch.Tensor:
    """-(reward - baseline) * log p(sample), summed and divided by the samples' tokens, as the usual
    implementations do (so a batch of long outputs does not take larger steps)."""
    return -((rewards - base) * logp_sum).sum() / max(tokens, 1)


def distinct(ids: torch.Tensor, samples: int) -> torch.Tensor:
    """(N * samples,) bool: True for the first time each input's sampled output (a row of ids) occurs."""
    keep = torch.ones(len(ids), dtype=torch.bool)
    for start in range(0, len(ids), samples):
        seen: set[tuple[int, ...]] = set()
        for i, row in enumerate(ids[start : start + samples].tolist()):
            keep[start + i] = tuple(row) not in seen
            seen.add(tuple(row))
    return keep


def risk_loss(rewards: torch.Tensor, logp_sum: torch.Tensor, keep: torch.Tensor, samples: int, alpha: float) -> torch.Tensor:
    """Minimum risk training: the expected risk (1 - reward) under Q, the model's distribution renormalized
    over each input's distinct samples and sharpened by alpha, Q(y) ~ p(y)^alpha; averaged over inputs.
    Its gradient raises the probability of the samples that score above Q's expected reward."""
    scores = (alpha * logp_sum).masked_fill(~keep, float("-inf")).view(-1, samples)
    q = torch.softmax(scores, dim=1)
    return (q * (1 - rewards.view(-1, samples))).sum(1).mean()
