"""Self-critical sequence training (Rennie et al. 2017) of the photo captioner, from a trained checkpoint.

    python -m models.caption.training.scst [--init checkpoints/caption-photo.safetensors] [--epochs 20]

REINFORCE on whole captions: for each training image, --samples captions are sampled from the model and
each is rewarded with its CIDEr-D against that image's five references (document frequencies from the
train references, as in the paper). The baseline is the reward of the model's own greedy caption
(`--baseline greedy`, the paper's), or the mean reward of the image's other samples (`--baseline mean`,
which needs no extra decode). Only the head and decoder train; the backbone stays frozen and its cached
grids are reused (runs/caption/grids/, written by train.py). `--xe-weight` mixes in the usual
cross-entropy on the reference captions, which keeps the language model from drifting.

Sampling and the greedy baseline block <unk> as the served search does (`block_unk`). After every epoch the
dev images are captioned greedily and scored (CIDEr-D and BLEU-4); the best epoch by dev CIDEr-D goes to
--out (which starts as a copy of --init). Resumable: state in runs/caption/<name>/, rerunning the same
command continues.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from models.caption.training.checkpoint import load_checkpoint, save_checkpoint
from models.caption.training.metrics import CiderD, bleu, cider_d
from models.caption.training.model import Captioner
from models.caption.training.train import PhotoTask, targets, trainable
from models.caption.training.train import parse_args as train_args
from models.tokens import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from models.training.checkpoints import resume_run_state, save_run_state, start_run
from models.training.paths import default_data_dir
from models.training.sequence_level import baseline, reinforce_loss


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--init", type=Path, default=Path("checkpoints/caption-photo.safetensors"))
    p.add_argument("--name", default="scst")
    p.add_argument("--out", type=Path, default=None, help="default: checkpoints/caption_<name>.safetensors")
    p.add_argument("--data-dir", type=Path, default=default_data_dir())
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--images-per-batch", type=int, default=16)
    p.add_argument("--samples", type=int, default=5, help="sampled captions per image")
    p.add_argument("--baseline", choices=["greedy", "mean"], default="greedy")
    p.add_argument("--sample-dropout", action="store_true", help="sample with dropout on (pairs with --baseline mean)")
    p.add_argument("--xe-weight", type=float, default=0.0, help="weight of the cross-entropy term (0 = pure SCST)")
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--max-len", type=int, default=20, help="words per sampled caption")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


def rollout(model: Captioner, grids: torch.Tensor, repeats: int, max_len: int, greedy: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Captions for each grid, `repeats` times: sampled, or greedy. Returns the words (N, T), right-padded
    with PAD after </s>, and each caption's summed log-probability (N,), with gradients when sampling."""
    memory, keys, state, _ = model.encoder.head(grids)
    memory, keys, state = (x.repeat_interleave(repeats, 0) for x in (memory, keys, state))
    mask = torch.ones(memory.shape[:2], dtype=torch.bool)
    ctx = memory.new_zeros(memory.shape[0], memory.shape[-1])
    y = torch.full((len(memory),), BOS_ID, dtype=torch.int64)
    alive = torch.ones(len(memory), dtype=torch.bool)
    words, logp_sum = [], memory.new_zeros(len(memory))
    for _ in range(max_len):
        logp, _, _, state, ctx = model.step(y, state, ctx, memory, keys, mask)
        logits = logp.clone()
        logits[:, [PAD_ID, UNK_ID, BOS_ID]] = -float("inf")  # what the served search never emits
        logp = F.log_softmax(logits, dim=-1)
        y = logp.argmax(-1) if greedy else torch.multinomial(logp.exp(), 1).squeeze(1)
        logp_sum = logp_sum + logp.gather(1, y[:, None]).squeeze(1) * alive
        words.append(torch.where(alive, y, PAD_ID))
        alive = alive & (y != EOS_ID)
        if not alive.any():
            break
    return torch.stack(words, 1), logp_sum


def to_text(rows: torch.Tensor, vocab: list[str]) -> list[str]:
    out = []
    for row in rows.tolist():
        row = row[: row.index(EOS_ID)] if EOS_ID in row else row
        out.append(" ".join(vocab[t] for t in row if t != PAD_ID))
    return out


def policy_loss(
    model: Captioner, grids: torch.Tensor, images: list[int], cider: CiderD, vocab: list[str], args: argparse.Namespace
) -> tuple[torch.Tensor, float, float]:
    """REINFORCE with a baseline over --samples captions per grid (grid j shows image images[j]); returns the
    loss and the mean reward of the samples and of the baseline."""
    k = args.samples
    # By default samples come from the model as served, dropout off: with the photo model's dropout of 0.5
    # they scored a CIDEr-D of 0.28 on train images against 1.16 for the (dropout-free) greedy baseline, so
    # nearly every sample was pushed down. With --sample-dropout the policy is the dropout model, and only
    # the mean-of-samples baseline compares like with like.
    model.train(args.sample_dropout)
    words, logp = rollout(model, grids, k, args.max_len, greedy=False)
    rewards = torch.tensor([cider.score(h, images[i // k]) for i, h in enumerate(to_text(words, vocab))])
    greedy = None
    if args.baseline == "greedy":
        with torch.no_grad():
            best, _ = rollout(model.eval(), grids, 1, args.max_len, greedy=True)
        greedy = torch.tensor([cider.score(h, images[i]) for i, h in enumerate(to_text(best, vocab))])
    base = baseline(rewards, k, greedy)
    loss = reinforce_loss(rewards, base, logp, int((words != PAD_ID).sum()))
    return loss, float(rewards.mean()), float(base.mean())


class Scst:
    def __init__(self, args: argparse.Namespace, run: Path) -> None:
        self.args = args
        model, vocab = load_checkpoint(args.init)
        self.task = PhotoTask(train_args(["--kind", "photo", "--data-dir", str(args.data_dir)]), run)
        if self.task.vocab != vocab:
            raise ValueError(f"{args.init} was trained on another vocabulary than this data's")
        self.task.model.load_state_dict(model.state_dict())
        self.model, self.vocab = self.task.model, vocab
        self.model.encoder.backbone.requires_grad_(False)
        by_image: dict[int, list[list[int]]] = {}
        for img, caption in self.task.pairs:
            by_image.setdefault(img, []).append(caption)
        self.train_caps = [by_image[i] for i in range(len(self.task.train_names))]
        self.cider = CiderD(self.task.train_refs)  # raw words: a caption's <unk> earns nothing

    def loss(self, images: list[int]) -> tuple[torch.Tensor, float, float]:
        """The batch's policy-gradient loss (plus cross-entropy if asked), its samples' and baseline's mean reward."""
        grids = self.task.train_grids[images]
        loss, reward, base = policy_loss(self.model, grids, images, self.cider, self.vocab, self.args)
        if self.args.xe_weight:
            self.model.train()
            refs = [self.train_caps[i][int(np.random.randint(len(self.train_caps[i])))] for i in images]
            xe, _ = self.model.loss(grids, *targets(refs), reg=0.0, label_smoothing=0.0)
            loss = loss + self.args.xe_weight * xe
        return loss, reward, base

    @torch.no_grad()
    def dev_score(self) -> dict[str, float]:
        self.model.eval()
        words, _ = rollout(self.model, self.task.dev_grids, 1, 30, greedy=True)
        hyps = to_text(words, self.vocab)
        return {"cider_d": cider_d(hyps, self.task.dev_refs), "bleu4": bleu(hyps, self.task.dev_refs, 4),
                "words": round(float(np.mean([len(h.split()) for h in hyps])), 2)}  # fmt: skip


def main() -> None:
    args = parse_args()
    run, out = start_run("caption", args)
    scst = Scst(args, run)
    opt = torch.optim.Adam(trainable(scst.model), lr=args.lr)
    state = resume_run_state(run, scst.model, opt)
    if state is None:
        start = scst.dev_score()
        print(f"start ({args.init}): dev greedy {json.dumps(start)}", flush=True)
        state = {"epoch": 0, "best": start["cider_d"], "history": [{"epoch": -1, **start}]}
        if out.resolve() != args.init.resolve():
            shutil.copyfile(args.init, out)  # --out always holds the best so far, the start included
    n_images, bs = len(scst.train_caps), args.images_per_batch
    while state["epoch"] < args.epochs:
        epoch, t0, rewards, bases = state["epoch"], time.time(), [], []
        np.random.seed([args.seed, epoch])
        order = np.random.default_rng([args.seed, epoch]).permutation(n_images)
        for i in range(0, n_images, bs):
            loss, reward, base = scst.loss(order[i : i + bs].tolist())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable(scst.model), 5.0)
            opt.step()
            rewards.append(reward)
            bases.append(base)
        score = scst.dev_score()
        train = {"reward": round(float(np.mean(rewards)), 4), "baseline": round(float(np.mean(bases)), 4)}
        state["history"].append({"epoch": epoch, **train, **score})
        print(f"epoch {epoch} done in {time.time() - t0:.0f}s: train {json.dumps(train)} dev {json.dumps(score)}", flush=True)
        if score["cider_d"] > state["best"]:
            state["best"] = score["cider_d"]
            extra = {"epoch": epoch, "dev": json.dumps(score), "args": json.dumps(vars(args), default=str)}
            save_checkpoint(scst.model, scst.vocab, out, extra)
            print(f"saved {out}", flush=True)
        state["epoch"] = epoch + 1
        save_run_state(run, scst.model, opt, state)


if __name__ == "__main__":
    main()
