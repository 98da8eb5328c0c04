"""python -m models.training <task> [--dry-run]: run a task's training recipe (what `make train-<task>` does).

The steps come from the task registry (service/tasks.py): each is `python -m <module> <args>`, run in
order; the last ones write exactly the checkpoints the export reads (tests/unit/test_tasks.py). Every
training module is resumable, so running the recipe again picks up where it stopped.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

from service.tasks import TASKS, task


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", choices=[t.name for t in TASKS])
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    args = p.parse_args()
    for step in task(args.task).train:
        command = [sys.executable, "-m", step.module, *step.args]
        if step.skip_if_exists and Path(step.skip_if_exists).exists():
            print(f"skipped (made already: {step.skip_if_exists}): {shlex.join(command[1:])}", flush=True)
            continue
        print(f"$ python {shlex.join(command[1:])}", flush=True)
        if not args.dry_run:
            subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
