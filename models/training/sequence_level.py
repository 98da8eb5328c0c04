"""The policy-gradient loss of self-critical sequence training (Rennie et al. 2017), shared by the captioner
and the translation model: REINFORCE over whole sampled outputs, each rewarded by a sequence metric
(CIDEr-D, sentence BLEU) minus a baseline that needs no learned critic."""

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
