"""The per-task ablation: one memory network per bAbI task, each trained on that task alone.

    python -m models.qa.training.per_task [--data-dir ../shared/data] [any train.py option, e.g. --seed 3]

Runs `train.py --tasks N --name task-<N>` for N = 1..20 with the joint recipe otherwise unchanged (each run
resumable; finished ones are skipped), then reads each run's best validation error on its own task and
writes the table to runs/qa/per-task.json: the per-task figure beside the joint model's in the card.
The checkpoints stay in runs/qa/task-<N>/ (nothing is shipped from this ablation).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from models.qa.training import train
from models.qa.training.data import TASKS


def main(argv: list[str] | None = None) -> None:
    extra = list(sys.argv[1:] if argv is None else argv)
    if any(a.startswith(("--tasks", "--name", "--out")) for a in extra):
        raise SystemExit("per_task sets --tasks, --name and --out itself")
    errors: dict[int, float] = {}
    for task in TASKS:
        run = Path("runs/qa") / f"task-{task}"
        train.main([*extra, "--tasks", str(task), "--name", f"task-{task}", "--out", str(run / "best.safetensors")])
        errors[task] = json.loads((run / "best.json").read_text())["errors"][str(task)]
    summary = {"errors": errors, "mean_error": round(float(np.mean(list(errors.values()))), 2),
               "failed": sum(e > 5 for e in errors.values()), "args": extra}  # fmt: skip
    Path("runs/qa/per-task.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
