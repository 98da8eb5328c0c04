"""/translate served by this checkout against another commit of this repo, same graphs, same load, one run.

    python -m benchmarks.translate_baseline --baseline 00180ab [--duration 15] [--closed 8,32] [--open 20,40]

The baseline runs from a temporary git worktree of that commit (its own service code, this machine's
venv), over graphs its own exporter makes from the same checkpoint (the decoder step's interface has grown
since: it now ranks its vocabulary too). Both serve with
their own defaults, only /translate enabled; load and checks as benchmarks/translate_batching.py (one
Multi30k val sentence per request, beam 5, every answer checked). Closed loops first, then open loops;
the two servers run one after the other, so compare them as ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import loadgen
from benchmarks.hull_batching import machine
from benchmarks.loadgen import markdown_table
from benchmarks.server import ROOT, running_server
from benchmarks.translate_batching import OFF, check, request_pool
from models.training.paths import default_data_dir


def serve_and_load(root: Path, env: dict[str, str], log: Path, pool: list[dict[str, Any]], args: argparse.Namespace) -> list[Any]:
    with running_server(env, log, root=root) as server:
        return asyncio.run(loadgen.sweep(f"{server.url}/translate", pool, args.closed, args.open, args.duration, 3, check))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--baseline", default="00180ab")
    p.add_argument("--duration", type=float, default=15)
    p.add_argument("--closed", type=lambda s: [int(x) for x in s.split(",") if x], default=[8, 32])
    p.add_argument("--open", type=lambda s: [float(x) for x in s.split(",") if x], default=[])
    p.add_argument("--artifacts", default=str(ROOT / "build" / "models"))
    p.add_argument("--data-dir", type=Path, default=default_data_dir())
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    pool = request_pool(args.data_dir)
    env = {**OFF, "SEQ2SERVE_ARTIFACTS_DIR": args.artifacts, "SEQ2SERVE_LOG_LEVEL": "warning",
           "SEQ2SERVE_TRANSLATE__MAX_QUEUE": "1024", "SEQ2SERVE_REQUEST_TIMEOUT_S": "60"}  # fmt: skip
    results: dict[str, list[Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), args.baseline], cwd=ROOT, check=True, capture_output=True
        )
        try:
            own = Path(tmp) / "models"
            subprocess.run([sys.executable, "-m", "export", "translate", "--out", str(own)], cwd=tree, check=True,
                           capture_output=True, env={**os.environ, "PYTHONPATH": str(tree)})  # fmt: skip
            baseline_env = {**env, "SEQ2SERVE_ARTIFACTS_DIR": str(own)}
            results["baseline"] = serve_and_load(tree, baseline_env, Path(tmp) / "baseline.log", pool, args)
            results["this"] = serve_and_load(ROOT, env, Path(tmp) / "this.log", pool, args)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    print(f"machine: {machine()}\n")
    for name, rows in results.items():
        print(f"### {args.baseline if name == 'baseline' else 'this checkout'}\n\n{markdown_table(rows)}\n")
    print(f"### this / {args.baseline}\n\n| load | {args.baseline} req/s | this req/s | throughput ratio | "
          f"{args.baseline} p99 s | this p99 s | p99 ratio |\n|---|---|---|---|---|---|---|")  # fmt: skip
    for a, b in zip(results["baseline"], results["this"], strict=True):
        load = f"{a['concurrency']} clients" if a["mode"] == "closed" else f"{a['rate']:g} req/s offered"
        ta, tb, pa, pb = a["throughput_rps"], b["throughput_rps"], a["p99_ms"], b["p99_ms"]
        print(f"| {load} | {ta:.1f} | {tb:.1f} | {tb / ta:.2f}x | {pa / 1000:.3f} | {pb / 1000:.3f} | {pb / pa:.2f}x |")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "baseline": args.baseline, "results": results}, indent=2))


if __name__ == "__main__":
    main()
