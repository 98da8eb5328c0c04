"""Train the memory network jointly on all 20 bAbI 1k tasks.

    python -m models.qa.training.train [--name main] [--data-dir ../shared/data] [--hops 3]

The paper's recipe (Sukhbaatar et al. 2015, section 4.2): position and temporal encoding, adjacent weight
tying, linear start (the first --ls-epochs epochs without the memory softmax), random noise (10% empty
memories inserted among the story's sentences at training, so the temporal encoding does not overfit),
gradient norm clipped at 40. Adam instead of their SGD schedule: learning rate --lr, halved every
--decay-every epochs after linear start. After every epoch the model is scored on validation (10% of each
task's train questions); the best mean validation error is written to --out with its per-task errors in
runs/qa/<name>/best.json. Resumable: rerunning the same command continues from runs/qa/<name>/. Test files
are not read here (`make eval` scores them, once).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from models.qa.training.checkpoint import save_checkpoint
from models.qa.training.data import TASKS, arrays, splits, vocabularies
from models.qa.training.model import MemN2N, MemN2NConfig, MemN2NEnsemble
from models.training.checkpoints import resume_run_state, save_run_state, start_run
from models.training.paths import default_data_dir

SENTENCE = 12  # words per sentence kept in training arrays (bAbI's longest has 11)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default="main")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=None, help="default: checkpoints/qa_<name>.safetensors")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--ls-epochs", type=int, default=15, help="linear start: epochs without the memory softmax")
    p.add_argument("--lr", type=float, default=0.005)
    p.add_argument("--decay-every", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--dim", type=int, default=50)
    p.add_argument("--hops", type=int, default=3)
    p.add_argument("--memory", type=int, default=50)
    p.add_argument("--encoding", choices=("position", "bow"), default="position", help="bow: the paper's ablation")
    p.add_argument("--gated", action="store_true", help="GMemN2N: a learned gate between hops")
    p.add_argument("--noise", type=float, default=0.1, help="random noise: empty memories per story sentence")
    p.add_argument("--clip", type=float, default=40.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tasks", default="all", help="train and validate on these tasks only, e.g. 3 or 2,3 (the per-task ablation)")
    args = p.parse_args(argv)
    args.tasks = list(TASKS) if args.tasks == "all" else sorted({int(t) for t in args.tasks.split(",")})
    if not set(args.tasks) <= set(TASKS):
        p.error(f"--tasks: bAbI tasks are {TASKS[0]}-{TASKS[-1]}")
    return args


def with_noise(story: np.ndarray, share: float, rng: random.Random) -> np.ndarray:
    """Each story (M, J) with empty sentences inserted at random places among its sentences, cut to M."""
    out = np.zeros_like(story)
    for i, s in enumerate(story):
        present = [row for row in s if row.any()]
        for _ in range(round(share * len(present))):
            present.insert(rng.randint(0, len(present)), np.zeros_like(s[0]))
        rows = present[: len(s)]
        if rows:
            out[i, : len(rows)] = np.stack(rows)
    return out


def scores(
    model: MemN2N | MemN2NEnsemble, data: dict[str, np.ndarray], tasks: np.ndarray, linear: bool, only: Sequence[int] = TASKS
) -> dict[str, Any]:
    """Mean cross-entropy, and the error (%) per task (of those in `only`) and their mean."""
    model.eval()
    with torch.no_grad():
        logits, _ = model(torch.from_numpy(data["story"]), torch.from_numpy(data["question"]), linear=linear)
        answer = torch.from_numpy(data["answer"])
        loss = float(F.cross_entropy(logits, answer.clamp(min=0)).item())
        wrong = (logits.argmax(-1) != answer).numpy()
    errors = {int(t): round(100 * float(wrong[tasks == t].mean()), 2) for t in only}
    return {"loss": round(loss, 4), "errors": errors, "mean_error": round(float(np.mean(list(errors.values()))), 2),
            "failed": sum(e > 5 for e in errors.values())}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run, out = start_run("qa", args)
    data = splits(args.data_dir or default_data_dir())
    vocab = vocabularies(data["train"])  # all tasks' words, so a per-task model reads the same inputs
    data = {k: [ex for ex in v if ex.task in args.tasks] for k, v in data.items()}
    train, val = (arrays(data[s], vocab, args.memory, SENTENCE) for s in ("train", "val"))
    val_tasks = np.array([ex.task for ex in data["val"]])
    cfg = MemN2NConfig(len(vocab.words), len(vocab.answers), args.dim, args.hops, args.memory, args.encoding, args.gated)
    model = MemN2N(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    state: dict[str, Any] = {"epoch": 0, "best": 1e9, "history": []}
    resumed = resume_run_state(run, model, opt)
    if resumed is not None:
        state = resumed
        print(f"resumed at epoch {state['epoch']}", flush=True)
    n = len(train["answer"])
    while state["epoch"] < args.epochs:
        epoch, t0 = state["epoch"], time.time()
        linear = epoch < args.ls_epochs
        decays = max(0, (epoch - args.ls_epochs) // args.decay_every)
        for g in opt.param_groups:
            g["lr"] = args.lr * 0.5**decays
        rng = random.Random(args.seed * 10_000 + epoch)
        order = list(range(n))
        rng.shuffle(order)
        model.train()
        total = 0.0
        for start in range(0, n, args.batch_size):
            idx = order[start : start + args.batch_size]
            story = with_noise(train["story"][idx], args.noise, rng) if args.noise else train["story"][idx]
            logits, _ = model(torch.from_numpy(story), torch.from_numpy(train["question"][idx]), linear=linear)
            loss = F.cross_entropy(logits, torch.from_numpy(train["answer"][idx]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            total += loss.item() * len(idx)
        v = scores(model, val, val_tasks, linear, args.tasks)
        state["history"].append({"epoch": epoch, "linear": linear, "train_loss": round(total / n, 4), **v})
        print(f"epoch {epoch}{' (linear)' if linear else ''} {time.time() - t0:.0f}s train loss {total / n:.3f} "
              f"val loss {v['loss']} mean error {v['mean_error']}% failed {v['failed']}", flush=True)  # fmt: skip
        if not linear and v["mean_error"] < state["best"]:
            state["best"] = v["mean_error"]
            save_checkpoint(model, vocab, out, {"epoch": epoch, "args": json.dumps(vars(args), default=str)})
            (run / "best.json").write_text(json.dumps({"epoch": epoch, **v}, indent=2))
            print(f"saved {out}", flush=True)
        state["epoch"] = epoch + 1
        save_run_state(run, model, opt, state)


if __name__ == "__main__":
    main()
