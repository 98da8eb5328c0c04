"""Batched decoding in torch for training: greedy for validation, sampled for self-critical training (serving
uses search.py). Both stop each sentence at the server's default length, 2 x its source length + 10, so
validation BLEU matches serving."""

from __future__ import annotations

import torch

from models.tokens import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from models.translate.training.data import Batch, Example, make_batch
from models.translate.training.model import EPS, Seq2Seq, final_distribution
from models.translate.vocab import Vocab, extend


def rollout(model: Seq2Seq, batch: Batch, repeats: int, greedy: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Translations of each sentence, `repeats` times, sampled or greedy, up to the server's default length
    (2 x its source length + 10): extended ids (N, T) with EOS_ID after the end, and each one's summed
    log-probability under the final (copy-mixed) distribution (N,), with gradients when sampling."""
    src, src_len, src_ext = (torch.from_numpy(a) for a in (batch.src, batch.src_len, batch.src_ext))
    memory, keys, h = model.encoder(src, src_len)
    mask = src != PAD_ID
    memory, keys, h, mask, src_ext = (x.repeat_interleave(repeats, 0) for x in (memory, keys, h, mask, src_ext))
    limit = (2 * src_len + 10).repeat_interleave(repeats)
    ctx = memory.new_zeros(memory.shape[0], memory.shape[-1])
    y = torch.full((len(h),), BOS_ID, dtype=torch.int64)
    alive = torch.ones(len(h), dtype=torch.bool)
    ids, logp_sum = [], memory.new_zeros(len(h))
    for t in range(int(limit.max())):
        logp, attn, p_gen, h, ctx = model.step(y, h, ctx, memory, keys, mask)
        p = final_distribution(logp, attn, p_gen, src_ext, batch.n_oov)
        pick = p.argmax(-1) if greedy else torch.multinomial(p.detach() + EPS, 1).squeeze(1)
        logp_sum = logp_sum + (p.gather(1, pick[:, None]).squeeze(1) + EPS).log() * alive
        ids.append(torch.where(alive, pick, EOS_ID))
        alive = alive & (pick != EOS_ID) & (t + 1 < limit)
        if not alive.any():
            break
        y = torch.where(pick >= model.cfg.tgt_vocab, UNK_ID, pick)
    return torch.stack(ids, 1), logp_sum


@torch.no_grad()
def greedy(model: Seq2Seq, batch: Batch) -> list[list[int]]:
    """Extended-vocabulary ids of the greedy translation of each sentence (no </s>), at most the server's
    default length."""
    model.eval()
    rows, _ = rollout(model, batch, 1, greedy=True)
    return [row[: row.index(EOS_ID)] if EOS_ID in row else row for row in rows.tolist()]


def translate_tokens(model: Seq2Seq, examples: list[Example], src: Vocab, tgt: Vocab, batch_size: int = 128) -> list[list[str]]:
    results: list[list[str]] = []
    for i in range(0, len(examples), batch_size):
        chunk = examples[i : i + batch_size]
        batch = make_batch(chunk, src, tgt)
        for ex, ids in zip(chunk, greedy(model, batch), strict=True):
            _, oovs = extend(ex.src, tgt)
            words = tgt.itos + oovs
            results.append([words[j] for j in ids])
    return results
