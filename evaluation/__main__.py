"""python -m evaluation [task ...]: run each task's evaluation (its card.json is rewritten).

The tasks and their evaluation modules come from the task registry (service/tasks.py). A task whose
checkpoints are not all there is skipped with a note. Each evaluation reads the exported graphs
(`make export` first; `make eval` does).
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from service.tasks import TASKS


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tasks", nargs="*", default=[t.name for t in TASKS], help=f"which ({', '.join(t.name for t in TASKS)})")
    args = p.parse_args()
    for task in TASKS:
        if task.name not in args.tasks:
            continue
        missing = [c for m in task.models for c in m.checkpoint_paths if not c.exists()]
        if missing:
            print(f"{task.name}: no checkpoint at {', '.join(map(str, missing))}; skipped", flush=True)
            continue
        print(f"{task.name}: python -m {task.evaluate}", flush=True)
        subprocess.run([sys.executable, "-m", task.evaluate], check=True)  # its own process: a clean runtime each


if __name__ == "__main__":
    main()
