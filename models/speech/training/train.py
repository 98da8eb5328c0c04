"""Train listen-attend-spell on FSDD + synthetic speech (build the corpus first: python -m models.speech.training.data).

    python -m models.speech.training.train --name main
    python -m models.speech.training.train --name fold-theo --held-out theo   # a leave-one-speaker-out fold

Every epoch augments each training clip afresh (speed, pitch, vocal-tract length, noise, reverberation:
models/speech/training/augment.py) before the log-mel front end, then SpecAugment masks the features.
Resumable: state in runs/speech/<name>/ every --save-every batches and at each epoch's end; rerunning the
same command continues, and batch order and augmentation are pure functions of (seed, epoch, batch).
After each epoch the model is scored by greedy decoding on the dev sets and on each held-out speaker;
the best mean CER over dev_fsdd and dev_synth (never a held-out speaker) is written to --out (default
checkpoints/speech_<name>.safetensors), and its scores to runs/speech/<name>/best.json.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from models.speech.chars import decode_ids, encode_text
from models.speech.features import Norm, front_end, n_frames, padded_frames
from models.speech.training.augment import AugmentConfig, augment
from models.speech.training.checkpoint import save_checkpoint
from models.speech.training.data import SELECTION, AudioCorpus, Corpus, run_splits
from models.speech.training.metrics import cer
from models.speech.training.model import LAS, LASConfig
from models.tokens import BOS_ID, EOS_ID, PAD_ID
from models.training.checkpoints import resume_run_state, save_run_state, start_run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default="main")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--cache", type=Path, default=Path("runs/speech/data"), help="built by models.speech.training.data")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--max-frames", type=int, default=16000, help="padded frames per batch")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--sample-prob", type=float, default=0.1, help="scheduled sampling (Chan et al. use 10%%)")
    p.add_argument("--spec-augment", type=int, default=2, help="time and frequency masks per utterance (0 = off)")
    p.add_argument("--augment", choices=("on", "off"), default="on", help="audio augmentation (augment.py)")
    p.add_argument("--normalize", choices=("utterance", "global"), default="utterance",
                   help="features normalized per utterance (served) or by the training set's statistics (CMVN)")  # fmt: skip
    p.add_argument("--held-out", default="", help="FSDD speakers to leave out of training, comma-separated")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--save-every", type=int, default=100)
    return p.parse_args(argv)


def spec_augment(f: np.ndarray, rng: random.Random, n: int) -> np.ndarray:
    """SpecAugment-style masking (Park et al. 2019): n bands of up to 6 mels and n spans of up to 10% of frames."""
    f = f.copy()
    for _ in range(n):
        b = rng.randint(0, 6)
        lo = rng.randint(0, f.shape[1] - b)
        f[:, lo : lo + b] = 0
        t = rng.randint(0, max(1, len(f) // 10))
        start = rng.randint(0, max(0, len(f) - t))
        f[start : start + t] = 0
    return f


def make_batch(corpus: Corpus, idx: list[int], rng: random.Random | None, masks: int) -> list[torch.Tensor]:
    feats = [corpus.features(i) for i in idx]
    if rng is not None and masks:
        feats = [spec_augment(f, rng, masks) for f in feats]
    return pack(feats, [corpus.texts[i] for i in idx])


def augmented_batch(audio: AudioCorpus, idx: list[int], rng: random.Random, cfg: AugmentConfig, masks: int,
                    norm: Norm | None = None) -> list[torch.Tensor]:  # fmt: skip
    feats = [front_end(x, norm, warp) for x, warp in (augment(audio.clip(i), cfg, rng) for i in idx)]
    return pack([spec_augment(f, rng, masks) if masks else f for f in feats], [audio.texts[i] for i in idx])


def pack(feats: list[np.ndarray], texts: list[str]) -> list[torch.Tensor]:
    """Padded features, lengths, and the target's decoder inputs and outputs."""
    width = padded_frames(max(len(f) for f in feats))
    x = np.zeros((len(feats), width, feats[0].shape[1]), dtype=np.float32)
    for row, f in enumerate(feats):
        x[row, : len(f)] = f
    ids = [encode_text(t) for t in texts]
    t = max(len(s) for s in ids) + 1
    tgt_in = np.full((len(feats), t), PAD_ID, dtype=np.int64)
    tgt_out = np.full((len(feats), t), PAD_ID, dtype=np.int64)
    for row, s in enumerate(ids):
        tgt_in[row, : len(s) + 1] = [BOS_ID, *s]
        tgt_out[row, : len(s) + 1] = [*s, EOS_ID]
    lengths = np.array([len(f) for f in feats], dtype=np.int64)
    return [torch.from_numpy(a) for a in (x, lengths, tgt_in, tgt_out)]


def groups(lengths: np.ndarray, max_frames: int, seed: int | None) -> list[list[int]]:
    """Indices grouped by similar length (in frames), at most max_frames padded frames per group, shuffled
    with a seed."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    if seed is not None:
        rng.shuffle(order)
    order.sort(key=lambda i: int(lengths[i]))
    out: list[list[int]] = [[]]
    for i in order:
        if out[-1] and padded_frames(int(lengths[i])) * (len(out[-1]) + 1) > max_frames:
            out.append([])
        out[-1].append(i)
    if seed is not None:
        rng.shuffle(out)
    return out


@torch.no_grad()
def greedy_texts(model: LAS, corpus: Corpus, max_frames: int = 32000) -> list[str]:
    """Greedy transcripts in corpus order (validation only; serving decodes with the shared numpy search)."""
    model.eval()
    texts = [""] * len(corpus)
    for idx in groups(np.diff(corpus.offsets), max_frames, seed=None):
        x, lengths, _, _ = make_batch(corpus, idx, None, 0)
        memory, keys, h, mem_len = model.listener(x, lengths)
        mask = torch.arange(memory.shape[1]).unsqueeze(0) < mem_len.unsqueeze(1)
        ctx = memory.new_zeros(memory.shape[0], memory.shape[-1])
        y = torch.full((len(idx),), BOS_ID, dtype=torch.int64)
        out = []
        for _ in range(200):
            logp, _, _, h, ctx = model.step(y, h, ctx, memory, keys, mask)
            y = logp.argmax(-1)
            out.append(y)
            if bool((torch.stack(out, 1) == EOS_ID).any(1).all()):
                break
        for i, row in zip(idx, torch.stack(out, 1).tolist(), strict=True):
            texts[i] = decode_ids(row[: row.index(EOS_ID)] if EOS_ID in row else row)
    return texts


def score(model: LAS, corpus: Corpus) -> dict[str, float]:
    hyps = greedy_texts(model, corpus)
    return {"cer": round(100 * cer(hyps, corpus.texts), 2),
            "acc": round(100 * float(np.mean([h == r for h, r in zip(hyps, corpus.texts, strict=True)])), 2)}  # fmt: skip


def batches(audio: AudioCorpus, args: argparse.Namespace, epoch: int, start: int,
            norm: Norm | None = None) -> Iterator[tuple[int, list[torch.Tensor]]]:  # fmt: skip
    seed = args.seed * 1000 + epoch
    cfg = AugmentConfig() if args.augment == "on" else AugmentConfig.off()
    stretch = 1 / min(cfg.speeds)  # the slowest speed lengthens a clip by this much
    frames = np.array([int(n_frames(int(n)) * stretch) + 1 for n in audio.lengths()])
    for i, idx in enumerate(groups(frames, args.max_frames, seed)):
        if i >= start:
            yield i, augmented_batch(audio, idx, random.Random(seed * 100_000 + i), cfg, args.spec_augment, norm)


def main() -> None:
    args = parse_args()
    run, out = start_run("speech", args)
    splits = run_splits(args.cache, [s for s in args.held_out.split(",") if s], args.normalize)
    train, scored = splits.train, {**splits.dev, **splits.test}
    model = LAS(LASConfig())
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    state = {"epoch": 0, "batch": 0, "best": 1e9, "lr": args.lr, "history": []}
    resumed = resume_run_state(run, model, opt)
    if resumed is not None:
        state = resumed
        print(f"resumed: epoch {state['epoch']} batch {state['batch']}", flush=True)

    def save() -> None:
        save_run_state(run, model, opt, state)

    while state["epoch"] < args.epochs:
        epoch, t0, total, count = state["epoch"], time.time(), 0.0, 0
        for g in opt.param_groups:
            g["lr"] = state["lr"]
        model.train()
        for i, (x, lengths, tgt_in, tgt_out) in batches(train, args, epoch, state["batch"], splits.norm):
            loss = model(x, lengths, tgt_in, tgt_out, args.label_smoothing, args.sample_prob)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total, count, state["batch"] = total + loss.item(), count + 1, i + 1
            if state["batch"] % args.save_every == 0:
                save()
                print(f"epoch {epoch} batch {state['batch']} loss {total / count:.3f} {time.time() - t0:.0f}s", flush=True)
        scores = {name: score(model, corpus) for name, corpus in scored.items()}
        mean_cer = float(np.mean([scores[name]["cer"] for name in SELECTION]))
        state["history"].append({"epoch": epoch, "lr": state["lr"], **scores})
        print(f"epoch {epoch} done in {time.time() - t0:.0f}s: {json.dumps(scores)}", flush=True)
        if mean_cer < state["best"]:
            state["best"] = mean_cer
            extra = {"epoch": epoch, "dev": json.dumps(scores), "args": json.dumps(vars(args), default=str)}
            if splits.norm is not None:  # the server normalizes requests with the same statistics
                extra["norm"] = json.dumps(splits.norm.as_dict())
            save_checkpoint(model, out, extra)
            best = {"epoch": epoch, "selected_by": list(SELECTION), "held_out": args.held_out, **scores}
            (run / "best.json").write_text(json.dumps(best, indent=2))
            print(f"saved {out}", flush=True)
        elif epoch >= 5:
            state["lr"] /= 2  # halve on a plateau, once past warm-up noise
        state["epoch"], state["batch"] = epoch + 1, 0
        save()
        (run / "history.json").write_text(json.dumps({"epochs_done": epoch + 1, "history": state["history"]}, indent=2))


if __name__ == "__main__":
    main()
