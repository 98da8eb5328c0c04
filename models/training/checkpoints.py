"""Checkpoint and run-state files shared by every model's training code (safetensors; never pickle)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file


def save_weights(model: torch.nn.Module, path: Path, meta: dict[str, str], half: bool = False) -> None:
    """Write the weights atomically, with `meta` (the constructor args and more) in the file's metadata.

    half=True stores float16, halving the file; models are trained and served in float32, so
    `load_weights` casts back.
    """
    tensors = {k: (v.detach().to(torch.float16) if half else v.detach()).contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(path)


def read_metadata(path: Path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """The weights as float32."""
    return {k: v.float() for k, v in load_file(str(path)).items()}


def save_run_state(run: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """Model, optimizer and loop state (epoch, batch, best, ...) for resuming, written atomically."""
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "state": json.dumps(state)}, run / "state.tmp")
    (run / "state.tmp").replace(run / "state.pt")


def resume_run_state(run: Path, model: torch.nn.Module, opt: torch.optim.Optimizer) -> dict[str, Any] | None:
    """Load what `save_run_state` wrote into model and optimizer; the loop state, or None on a fresh run."""
    if not (run / "state.pt").exists():
        return None
    saved = torch.load(run / "state.pt", weights_only=True)
    model.load_state_dict(saved["model"])
    opt.load_state_dict(saved["opt"])
    return dict(json.loads(saved["state"]))


def start_run(task: str, args: Any) -> tuple[Path, Path]:
    """A training run's folder (runs/<task>/<name>/, made) and its best checkpoint (--out, by default
    checkpoints/<task>_<name>.safetensors); seeds torch and sets its threads from args (seed, threads)."""
    run = Path("runs") / task / args.name
    run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    return run, args.out or Path(f"checkpoints/{task}_{args.name}.safetensors")
