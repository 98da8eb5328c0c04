"""/hull throughput under hey for ORT thread spinning on/off x batching off/on, one run.

    python -m benchmarks.hull_knobs [--seconds 10] [--concurrency 32] [--repeats 2]

Needs Debian's `hey` (apt-get install hey). Each cell is a fresh server process; the order of
cells repeats `--repeats` times so that drift on a noisy machine shows up as spread, not as bias.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.hull_batching import hey_rps
from benchmarks.server import running_server


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--artifacts", default="build/models")
    args = p.parse_args()
    if shutil.which("hey") is None:
        p.error("needs the hey binary (apt-get install hey)")
    cells: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        body = Path(tmp) / "body.json"
        body.write_text(json.dumps({"points": np.random.default_rng(3).random((30, 2)).round(5).tolist()}))
        for _ in range(args.repeats):
            for spin in ("false", "true"):
                for batch in ("1", "64"):
                    env = {"SEQ2SERVE_ARTIFACTS_DIR": args.artifacts, "SEQ2SERVE_ORT_ALLOW_SPINNING": spin,
                           "SEQ2SERVE_HULL__MAX_BATCH_SIZE": batch, "SEQ2SERVE_LOG_LEVEL": "warning"}  # fmt: skip
                    with running_server(env, Path(tmp) / "server.log") as s:
                        rps = hey_rps(f"{s.url}/hull", args.concurrency, args.seconds, body)
                    cells.setdefault((spin, batch), []).append(rps)
    print(f"hey -c {args.concurrency}, {args.seconds:.0f} s per cell, {args.repeats} repeats (req/s, each repeat)\n")
    print("| ort_allow_spinning | max_batch_size | req/s |\n|---|---|---|")
    for (spin, batch), values in cells.items():
        print(f"| {spin} | {batch} | {' / '.join(f'{v:.0f}' for v in values)} |")


if __name__ == "__main__":
    main()
