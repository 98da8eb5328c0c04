"""Train the Neural Turing Machine on the copy task (random 8-bit vectors, lengths uniform in 1..20).

    OMP_NUM_THREADS=1 python -m models.ntm.training.train --run-dir runs/ntm --threads 1

Resumable: the full state (model, optimizer, step, curriculum, best metric) is saved to `--run-dir` every
`--save-every` steps, and rerunning the same command continues from there. Batches are a pure function of
(seed, step), so a resumed run sees exactly the data an uninterrupted one would have.

Every `--eval-every` steps the mean bit errors per sequence on fixed seeded sets of lengths 10, 20, 40 and 80
are logged; the best model by errors at the training length (ties broken by the longer lengths) is written
to `--out`. Training stops at `--steps`, or once lengths up to 20 are copied perfectly and length 80 with
under one wrong bit per sequence for `--patience` evaluations in a row.

Hyperparameters follow Collier & Beel (2018): Adam at 1e-3, gradient norm clipped at 50, the loss summed
over output steps and bits and averaged over the batch, one sequence length per batch.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from models.ntm.training.data import Curriculum, copy_batch, eval_sets
from models.ntm.training.model import NTM, NTMConfig
from models.training.checkpoints import resume_run_state, save_run_state, save_weights

Batch = tuple[int, torch.Tensor, torch.Tensor]  # (length L, inputs (B, 2L + 1, bits + 1), targets (B, L, bits))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=200_000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--clip-norm", type=float, default=50.0, help="gradient norm clip (the loss is summed per sequence)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-len", type=int, default=20, help="longest training sequence")
    p.add_argument("--start-len", type=int, default=None, help="curriculum: start at this max length (default: --max-len)")
    p.add_argument("--curriculum-threshold", type=float, default=0.5, help="bit errors per sequence that unlock a length")
    p.add_argument("--eval-lengths", type=int, nargs="+", default=[10, 20, 40, 80])
    p.add_argument("--eval-size", type=int, default=64, help="sequences per evaluation length")
    p.add_argument("--eval-seed", type=int, default=999, help="evaluation sets are drawn apart from training data")
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--patience", type=int, default=3, help="evaluations in a row that must meet the stop criterion")
    p.add_argument("--bits", type=int, default=8)
    p.add_argument("--controller", type=int, default=100)
    p.add_argument("--mem-rows", type=int, default=128)
    p.add_argument("--mem-cols", type=int, default=20)
    p.add_argument("--run-dir", type=Path, default=Path("runs/ntm"))
    p.add_argument("--out", type=Path, default=Path("checkpoints/ntm.safetensors"))
    return p.parse_args(argv)


def batch_for(step: int, curriculum: Curriculum, args: argparse.Namespace) -> Batch:
    """A pure function of (seed, step, curriculum)."""
    rng = np.random.default_rng([args.seed, step])
    length = curriculum.sample_length(rng)
    inputs, targets = copy_batch(rng, args.batch_size, length, args.bits)
    return length, torch.from_numpy(inputs), torch.from_numpy(targets)


def bit_errors(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean number of wrong bits per sequence; logits > 0 is sigmoid > 0.5. logits, targets (B, L, bits)."""
    return ((logits > 0) != (targets > 0.5)).sum(dim=(1, 2)).float().mean().item()


def output_logits(model: NTM, inputs: torch.Tensor, length: int) -> torch.Tensor:
    """Logits (B, L, bits) of the L answer steps (after the input and the delimiter)."""
    return model(inputs)[0][:, length + 1 :]


@torch.no_grad()
def evaluate(model: NTM, sets: dict[int, tuple[np.ndarray, np.ndarray]]) -> dict[int, float]:
    """Mean bit errors per sequence at every evaluation length."""
    model.eval()
    errors = {}
    for length, (inputs, targets) in sets.items():
        errors[length] = bit_errors(output_logits(model, torch.from_numpy(inputs), length), torch.from_numpy(targets))
    model.train()
    return errors


def rank_key(errors: dict[int, float], max_len: int) -> list[float]:
    """Lower is better: errors at the training length first, then at each longer length (generalisation)."""
    return [errors[n] for n in sorted(errors) if n >= max_len]


def train_step(model: NTM, opt: torch.optim.Optimizer, batch: Batch, clip: float) -> tuple[float, float]:
    """One update; (loss per sequence, bit errors per sequence). A non-finite gradient skips the update."""
    length, inputs, targets = batch
    logits = output_logits(model, inputs, length)
    loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="sum") / inputs.shape[0]
    opt.zero_grad(set_to_none=True)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    if torch.isfinite(norm):
        opt.step()
    else:
        print(f"non-finite gradient norm at length {length}: update skipped", flush=True)
    return loss.item(), bit_errors(logits.detach(), targets)


def fresh_state(args: argparse.Namespace) -> dict[str, Any]:
    start = args.start_len or args.max_len
    curriculum = Curriculum(start, args.max_len, args.curriculum_threshold)
    return {"step": 0, "curriculum": curriculum.to_dict(), "best": None, "streak": 0, "loss": None, "done": False}


def log_eval(state: dict[str, Any], errors: dict[int, float], sec_per_step: float) -> None:
    errs = " ".join(f"L{n} {e:.2f}" for n, e in errors.items())
    head = f"step {state['step']} loss {state['loss']:.4f} {sec_per_step:.3f} s/step max_len {state['curriculum']['max_len']}"
    print(f"{head} | bit errors/seq {errs}", flush=True)


def record_eval(model: NTM, cfg: NTMConfig, state: dict[str, Any], errors: dict[int, float], args: argparse.Namespace) -> None:
    """Update best / stop streak in `state`; write the shipped checkpoint when this is the best model so far."""
    key = rank_key(errors, args.max_len)
    if state["best"] is None or key < state["best"]:
        state["best"] = key
        meta = {"config": json.dumps(cfg.to_dict()), "step": str(state["step"]), "task": "copy"}
        meta |= {f"bit_errors_L{n}": f"{e:.4f}" for n, e in errors.items()}
        save_weights(model, args.out, meta | {"args": json.dumps(vars(args), default=str)})
        print(f"saved {args.out}", flush=True)
    solved = errors.get(args.max_len, 0.0) == 0 and errors[max(errors)] < 1.0
    state["streak"] = state["streak"] + 1 if solved else 0
    state["done"] = state["streak"] >= args.patience


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    cfg = NTMConfig(bits=args.bits, controller=args.controller, mem_rows=args.mem_rows, mem_cols=args.mem_cols)
    model = NTM(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    args.run_dir.mkdir(parents=True, exist_ok=True)
    state = resume_run_state(args.run_dir, model, opt) or fresh_state(args)
    if state["step"]:
        print(f"resumed at step {state['step']} (best {state['best']}, done {state['done']})", flush=True)
    curriculum = Curriculum.from_dict(state["curriculum"])
    sets = eval_sets(args.eval_lengths, args.eval_size, args.bits, args.eval_seed)
    t0, t0_step = time.time(), state["step"]
    while state["step"] < args.steps and not state["done"]:
        batch = batch_for(state["step"], curriculum, args)
        loss, errors = train_step(model, opt, batch, args.clip_norm)
        curriculum.update(batch[0], errors)
        state["step"] += 1
        state["curriculum"] = curriculum.to_dict()
        state["loss"] = loss if state["loss"] is None else 0.98 * state["loss"] + 0.02 * loss
        step = state["step"]
        sec_per_step = (time.time() - t0) / max(1, step - t0_step)
        if step % args.log_every == 0:
            print(f"step {step} loss {state['loss']:.4f} {sec_per_step:.3f} s/step max_len {curriculum.max_len}", flush=True)
        if step % args.eval_every == 0 or step == args.steps:
            errs = evaluate(model, sets)
            log_eval(state, errs, sec_per_step)
            record_eval(model, cfg, state, errs, args)
            t0, t0_step = time.time(), step  # s/step excludes evaluation time
        if step % args.save_every == 0 or step == args.steps or state["done"]:
            save_run_state(args.run_dir, model, opt, state)  # atomic: a kill mid-save keeps the previous state
    if state["done"]:
        print(f"solved at step {state['step']}: stopping", flush=True)


if __name__ == "__main__":
    main()
