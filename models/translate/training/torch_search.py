"""Batched greedy decoding in torch, for validation during training only (serving uses search.py)."""

from __future__ import annotations

import torch

from models.tokens import EOS_ID, PAD_ID, UNK_ID
from models.translate.training.data import Batch, Example, make_batch
from models.translate.training.model import Seq2Seq, final_distribution
from models.translate.vocab import Vocab, extend


@torch.no_grad()
def greedy(model: Seq2Seq, batch: Batch, max_len: int) -> list[list[int]]:
    """Extended-vocabulary ids of the greedy translation of each sentence (no </s>)."""
    model.eval()
    src, src_len, src_ext = (torch.from_numpy(a) for a in (batch.src, batch.src_len, batch.src_ext))
    memory, keys, h = model.encoder(src, src_len)
    mask = src != PAD_ID
    ctx = memory.new_zeros(memory.shape[0], memory.shape[-1])
    y = torch.from_numpy(batch.tgt_in[:, 0])
    out, done = [], torch.zeros(len(y), dtype=torch.bool)
    for _ in range(max_len):
        logp, attn, p_gen, h, ctx = model.step(y, h, ctx, memory, keys, mask)
        pred = final_distribution(logp, attn, p_gen, src_ext, batch.n_oov).argmax(-1)
        out.append(pred)
        done |= pred == EOS_ID
        if done.all():
            break
        y = torch.where(pred >= model.cfg.tgt_vocab, torch.full_like(pred, UNK_ID), pred)
    rows = torch.stack(out, 1).tolist()
    return [row[: row.index(EOS_ID)] if EOS_ID in row else row for row in rows]


def translate_tokens(model: Seq2Seq, examples: list[Example], src: Vocab, tgt: Vocab, batch_size: int = 128) -> list[list[str]]:
    results: list[list[str]] = []
    for i in range(0, len(examples), batch_size):
        chunk = examples[i : i + batch_size]
        batch = make_batch(chunk, src, tgt)
        for ex, ids in zip(chunk, greedy(model, batch, max_len=2 * batch.src.shape[1] + 10), strict=True):
            _, oovs = extend(ex.src, tgt)
            words = tgt.itos + oovs
            # The same per-sentence limit as the server's default, so validation BLEU matches serving.
            results.append([words[j] for j in ids[: 2 * len(ex.src) + 10]])
    return results
