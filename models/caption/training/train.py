"""Train a show-attend-tell captioner.

    python -m models.caption.training.train --kind grounded            # synthetic scenes, CNN from scratch
    python -m models.caption.training.train --kind photo               # Flickr8k subset, frozen EfficientNet-Lite0
    python -m models.caption.training.train --kind photo --captions my/captions.json --images my/images \\
        --train-list my/train.txt --dev-list my/dev.txt       # any caption file models/caption/training/data.py reads

The photo model's backbone is frozen, so its 7x7x1280 feature grids are computed once per split and cached
in runs/caption/; only the head and the decoder train. The grounded model trains end to end on fresh
scenes every epoch (scene k of epoch e is a pure function of (seed, e, k)).

Resumable: state in runs/caption/<name>/ every --save-every batches and at each epoch's end; rerunning the
same command continues. After each epoch the dev set is decoded greedily; the best epoch (BLEU-4 for
photos, exact match for scenes) is written to --out (default checkpoints/caption_<name>.safetensors; the
shipped ones are checkpoints/caption-<kind>.safetensors, as `make train-caption` writes them).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from models.caption.images import load_image_file
from models.caption.training.checkpoint import save_checkpoint
from models.caption.training.data import BOS, EOS, PhotoData, build_vocab, encode, tokenize
from models.caption.training.metrics import bleu
from models.caption.training.model import CaptionConfig, Captioner, load_imagenet_weights
from models.caption.training.scenes import WORDS, make_scene
from models.tokens import PAD_ID
from models.training.checkpoints import resume_run_state, save_run_state, start_run
from models.training.paths import default_data_dir

DEV_SCENES, DEV_SEED = 500, 1_000_003  # dev scenes draw from the held-out digit scans


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kind", choices=["photo", "grounded"], required=True)
    p.add_argument("--name", default=None, help="run name (default: the kind)")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--data-dir", type=Path, default=default_data_dir())
    p.add_argument("--captions", type=Path, default=None, help="photo: caption file (default: flickr8k_mini)")
    p.add_argument("--images", type=Path, default=None, help="photo: image folder")
    p.add_argument("--train-list", type=Path, default=None)
    p.add_argument("--dev-list", type=Path, default=None)
    p.add_argument("--min-freq", type=int, default=3, help="photo: words seen fewer times in train become <unk>")
    p.add_argument("--epochs", type=int, default=None, help="default: 30 photo, 12 grounded")
    p.add_argument("--scenes", type=int, default=16_000, help="grounded: fresh scenes per epoch")
    p.add_argument("--batch-size", type=int, default=None, help="default: 32 photo, 64 grounded")
    p.add_argument("--lr", type=float, default=None, help="default: 4e-4 photo, 1e-3 grounded")
    p.add_argument("--reg", type=float, default=1.0, help="doubly stochastic attention weight (lambda; 0 = off)")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--save-every", type=int, default=100)
    args = p.parse_args(argv)
    photo = args.kind == "photo"
    args.name = args.name or args.kind
    args.epochs = args.epochs or (30 if photo else 12)
    args.batch_size = args.batch_size or (32 if photo else 64)
    args.lr = args.lr or (4e-4 if photo else 1e-3)
    return args


def photo_config(vocab: int) -> CaptionConfig:
    return CaptionConfig(vocab=vocab, backbone="efficientnet-lite0", image_size=224, dim=512, emb=256, hidden=512,
                         attn=256, dropout=0.5)  # fmt: skip


def grounded_config() -> CaptionConfig:
    return CaptionConfig(vocab=4 + len(WORDS))


def grounded_vocab() -> list[str]:
    return ["<pad>", "<unk>", BOS, EOS, *WORDS]


def targets(captions: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """<s> w1 .. wn  ->  w1 .. wn </s>, right-padded."""
    t = max(len(c) for c in captions) + 1
    tgt_in = torch.full((len(captions), t), PAD_ID, dtype=torch.int64)
    tgt_out = torch.full((len(captions), t), PAD_ID, dtype=torch.int64)
    for row, c in enumerate(captions):
        tgt_in[row, : len(c) + 1] = torch.tensor([2, *c])
        tgt_out[row, : len(c) + 1] = torch.tensor([*c, 3])
    return tgt_in, tgt_out


# --- photo data: frozen backbone, grids cached once -----------------------------------------------------------


@torch.no_grad()
def cached_grids(model: Captioner, data: PhotoData, names: list[str], cache: Path) -> torch.Tensor:
    """(N, 1280, 7, 7) feature grids of these images, computed once and kept as float16 in `cache`."""
    meta = cache.with_suffix(".json")
    if cache.exists() and meta.exists() and json.loads(meta.read_text()) == names:
        return torch.from_numpy(np.load(cache).astype(np.float32))
    backbone, size = model.encoder.backbone.eval(), model.cfg.image_size
    grids = []
    for i in range(0, len(names), 16):
        images = np.stack([load_image_file(str(data.images / n), size) for n in names[i : i + 16]])
        grids.append(backbone(torch.from_numpy(images)).numpy().astype(np.float16))
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, np.concatenate(grids))
    meta.write_text(json.dumps(names))
    return torch.from_numpy(np.load(cache).astype(np.float32))


class PhotoTask:
    def __init__(self, args: argparse.Namespace, run: Path) -> None:
        data = PhotoData.flickr8k_mini(args.data_dir)
        if args.captions:  # another caption set: its own split lists, or none (a fixed 95/5 split)
            data = PhotoData(args.captions, args.images or data.images, args.train_list, args.dev_list)
        self.args = args
        self.train_names, train_caps = data.split("train")
        self.dev_names, dev_caps = data.split("dev")
        self.vocab = build_vocab([c for caps in train_caps.values() for c in caps], args.min_freq)
        index = {w: i for i, w in enumerate(self.vocab)}
        self.pairs = [(i, encode(tokenize(c), index)) for i, n in enumerate(self.train_names) for c in train_caps[n]]
        self.train_refs = [[" ".join(tokenize(c)) for c in train_caps[n]] for n in self.train_names]
        self.dev_refs = [[" ".join(tokenize(c)) for c in dev_caps[n]] for n in self.dev_names]
        self.model = Captioner(photo_config(len(self.vocab)))
        load_imagenet_weights(self.model)
        self.model.encoder.backbone.requires_grad_(False)
        self.train_grids = cached_grids(self.model, data, self.train_names, run.parent / "grids" / "photo_train.npy")
        self.dev_grids = cached_grids(self.model, data, self.dev_names, run.parent / "grids" / "photo_dev.npy")

    def batches(self, epoch: int, start: int) -> Iterator[tuple[int, torch.Tensor, list[list[int]]]]:
        order = np.random.default_rng([self.args.seed, epoch]).permutation(len(self.pairs))
        bs = self.args.batch_size
        for b, i in enumerate(range(0, len(order), bs)):
            if b >= start:
                chunk = [self.pairs[k] for k in order[i : i + bs]]
                yield b, self.train_grids[[img for img, _ in chunk]], [c for _, c in chunk]

    def dev_score(self) -> dict[str, float]:
        hyps = greedy(self.model, self.dev_grids, self.vocab)
        return {f"bleu{n}": bleu(hyps, self.dev_refs, n) for n in (1, 4)}

    @staticmethod
    def key(score: dict[str, float]) -> float:
        return score["bleu4"]


# --- grounded data: scenes drawn fresh every epoch -------------------------------------------------------------


class GroundedTask:
    def __init__(self, args: argparse.Namespace, run: Path) -> None:
        self.args = args
        self.vocab = grounded_vocab()
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.model = Captioner(grounded_config())
        dev = [make_scene(DEV_SEED, k, "eval") for k in range(DEV_SCENES)]
        self.dev_images = torch.from_numpy(np.stack([s.image.transpose(2, 0, 1) for s in dev]).astype(np.float32))
        self.dev_refs = [[" ".join(tokenize(s.caption))] for s in dev]

    def batches(self, epoch: int, start: int) -> Iterator[tuple[int, torch.Tensor, list[list[int]]]]:
        bs = self.args.batch_size
        for b in range(start, self.args.scenes // bs):
            scenes = [make_scene(self.args.seed * 1000 + epoch, b * bs + k) for k in range(bs)]
            images = torch.from_numpy(np.stack([s.image.transpose(2, 0, 1) for s in scenes]).astype(np.float32))
            yield b, images, [encode(tokenize(s.caption), self.index) for s in scenes]

    def dev_score(self) -> dict[str, float]:
        with torch.no_grad():
            self.model.eval()
            grids = torch.cat([self.model.encoder.backbone(self.dev_images[i : i + 100]) for i in range(0, DEV_SCENES, 100)])
        hyps = greedy(self.model, grids, self.vocab)
        exact = float(np.mean([h == r[0] for h, r in zip(hyps, self.dev_refs, strict=True)]))
        return {"exact": round(100 * exact, 2), "bleu4": bleu(hyps, self.dev_refs, 4)}

    @staticmethod
    def key(score: dict[str, float]) -> float:
        return score["exact"] + score["bleu4"] / 1000  # ties (e.g. 100%) go to the better BLEU


@torch.no_grad()
def greedy(model: Captioner, grids: torch.Tensor, vocab: list[str], max_len: int = 30) -> list[str]:
    """Greedy captions for feature grids (validation only; serving uses the shared beam search)."""
    model.eval()
    out: list[str] = []
    for i in range(0, len(grids), 128):
        memory, keys, state, _ = model.encoder.head(grids[i : i + 128])
        mask = torch.ones(memory.shape[:2], dtype=torch.bool)
        ctx = memory.new_zeros(memory.shape[0], memory.shape[-1])
        y = torch.full((len(memory),), 2, dtype=torch.int64)
        steps = []
        for _ in range(max_len):
            logp, _, _, state, ctx = model.step(y, state, ctx, memory, keys, mask)
            y = logp.argmax(-1)
            steps.append(y)
        for row in torch.stack(steps, 1).tolist():
            row = row[: row.index(3)] if 3 in row else row
            out.append(" ".join(vocab[t] for t in row))
    return out


def trainable(model: Captioner) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def main() -> None:
    args = parse_args()
    run, out = start_run("caption", args)
    task = PhotoTask(args, run) if args.kind == "photo" else GroundedTask(args, run)
    model = task.model
    opt = torch.optim.Adam(trainable(model), lr=args.lr)
    state = {"epoch": 0, "batch": 0, "best": -1.0, "lr": args.lr, "history": []}
    resumed = resume_run_state(run, model, opt)
    if resumed is not None:
        state = resumed
        print(f"resumed: epoch {state['epoch']} batch {state['batch']}", flush=True)
    while state["epoch"] < args.epochs:
        epoch, t0, total, count = state["epoch"], time.time(), 0.0, 0
        for g in opt.param_groups:
            g["lr"] = state["lr"]
        model.train()
        if args.kind == "photo":
            model.encoder.backbone.eval()  # frozen, batch norm included
        for b, x, caps in task.batches(epoch, state["batch"]):
            grid = x if args.kind == "photo" else model.encoder.backbone(x)
            loss, doubly = model.loss(grid, *targets(caps), args.reg, args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable(model), 5.0)
            opt.step()
            total, count, state["batch"] = total + loss.item(), count + 1, b + 1
            if state["batch"] % args.save_every == 0:
                save_run_state(run, model, opt, state)
                print(f"epoch {epoch} batch {b + 1} loss {total / count:.3f} doubly {doubly.item():.3f} "
                      f"{time.time() - t0:.0f}s", flush=True)  # fmt: skip
        score = task.dev_score()
        state["history"].append({"epoch": epoch, "lr": state["lr"], "loss": total / max(count, 1), **score})
        print(f"epoch {epoch} done in {time.time() - t0:.0f}s: loss {total / max(count, 1):.3f} {json.dumps(score)}", flush=True)
        if task.key(score) > state["best"]:
            state["best"] = task.key(score)
            extra = {"epoch": epoch, "dev": json.dumps(score), "args": json.dumps(vars(args), default=str)}
            save_checkpoint(model, task.vocab, out, extra)
            print(f"saved {out}", flush=True)
        elif epoch >= 4:
            state["lr"] /= 2  # halve on a plateau
        state["epoch"], state["batch"] = epoch + 1, 0
        save_run_state(run, model, opt, state)


if __name__ == "__main__":
    main()
