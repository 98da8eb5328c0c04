"""Train the hull pointer network.

    python -m models.hull.training.train --steps 60000 --out checkpoints/hull.safetensors

Resumable: the full training state is saved to `--state` every `--save-every` steps and picked up
again by the same command. Batches are a pure function of (seed, step), so a resumed run sees the
same data as an uninterrupted one.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from models.hull.training.checkpoint import save_checkpoint
from models.hull.training.data import eval_set, make_targets, sample_points
from models.hull.training.model import PointerNet, PointerNetConfig
from models.hull.training.torch_search import greedy_accuracy


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=60000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--min-n", type=int, default=5)
    p.add_argument("--max-n", type=int, default=50)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--eval-every", type=int, default=2000)
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--state", type=Path, default=Path("runs/hull/state.pt"))
    p.add_argument("--out", type=Path, default=Path("checkpoints/hull.safetensors"))
    return p.parse_args(argv)


def lr_at(step: int, args: argparse.Namespace) -> float:
    """Linear warm-up, then cosine decay to 1% of the peak."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def batch_for(step: int, args: argparse.Namespace) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng([args.seed, step])
    n = int(rng.integers(args.min_n, args.max_n + 1))
    points = sample_points(rng, args.batch_size, n)
    valid = torch.ones(args.batch_size, n, dtype=torch.bool)
    return torch.from_numpy(points), valid, torch.from_numpy(make_targets(points))


def main() -> None:
    args = parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    cfg = PointerNetConfig(d_model=args.d_model, n_layers=args.layers, d_ff=4 * args.d_model)
    model = PointerNet(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, best = 0, -1.0
    if args.state.exists():
        state = torch.load(args.state, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, best = int(state["step"]), float(state["best"])
        print(f"resumed at step {step} (best val acc {best:.4f})", flush=True)
    args.state.parent.mkdir(parents=True, exist_ok=True)
    val_points = eval_set(50, 500, seed=999)  # validation seed differs from every eval seed
    t0, running = time.time(), 0.0
    while step < args.steps:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args)
        points, valid, targets = batch_for(step, args)
        model.train()
        loss = model(points, valid, targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if step % 100 == 0:
            print(f"step {step} loss {running:.4f} lr {lr_at(step, args):.2e} {time.time() - t0:.0f}s", flush=True)
        if step % args.eval_every == 0 or step == args.steps:
            acc = greedy_accuracy(model, val_points)
            print(f"step {step} val greedy acc n=50: {acc:.4f}", flush=True)
            if acc > best:
                best = acc
                save_checkpoint(model, args.out, {"step": step, "val_acc_n50": acc, "args": json.dumps(vars(args), default=str)})
                print(f"saved {args.out}", flush=True)
        if step % args.save_every == 0 or step == args.steps:
            tmp = args.state.with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best}, tmp)
            tmp.replace(args.state)  # atomic: a kill mid-save never corrupts the resumable state


if __name__ == "__main__":
    main()
