"""/translate with request-level vs step-level batching, same model, same mixed-length load, one run.

    python -m benchmarks.translate_batching [--duration 20] [--closed 8,32] [--open 10,20]

Each configuration runs in its own server process (real uvicorn, loopback HTTP); only /translate is
enabled. Requests: one sentence each, drawn round-robin from a fixed seeded pool of Multi30k val
sentences, so lengths mix (about 5 to 30 words), beam 5 (the served default). Every answer is checked
(200, one translation, a non-empty text).

Closed loop: throughput and latency at a fixed number of clients. Open loop: Poisson arrivals at a fixed
rate: the latency a user sees at a given load. Client and server share this machine's cores, so compare
the two configurations as ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import loadgen
from benchmarks.hull_batching import machine
from benchmarks.loadgen import markdown_table
from benchmarks.server import running_server
from models.training.paths import default_data_dir
from models.translate.training.data import read_split
from service.tasks import MODELS

CONFIGS = {
    "request": {"SEQ2SERVE_TRANSLATE__BATCHING": "request", "SEQ2SERVE_TRANSLATE__MAX_BATCH_SIZE": "32"},
    "step": {"SEQ2SERVE_TRANSLATE__BATCHING": "step", "SEQ2SERVE_TRANSLATE__MAX_BATCH_SIZE": "32"},
}
OFF = {f"SEQ2SERVE_{m.upper()}__ENABLED": "false" for m in MODELS if m != "translate"}  # /translate alone


def request_pool(data_dir: Path, size: int = 200, seed: int = 7) -> list[dict[str, Any]]:
    german, _ = read_split(data_dir, "val")
    rng = random.Random(seed)
    return [{"text": de} for de in rng.sample(german, size)]


def check(_: dict[str, Any], answer: dict[str, Any]) -> bool:
    results = answer.get("results", [])
    return len(results) == 1 and bool(results[0]["translations"][0]["text"])


async def sweep(url: str, pool: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    return await loadgen.sweep(url, pool, args.closed, args.open, args.duration, warmup_s=3, check=check)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=20)
    p.add_argument("--closed", type=lambda s: [int(x) for x in s.split(",") if x], default=[8, 32])
    p.add_argument("--open", type=lambda s: [float(x) for x in s.split(",") if x], default=[10, 20])
    p.add_argument("--artifacts", default="build/models")
    p.add_argument("--data-dir", type=Path, default=default_data_dir())
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    pool = request_pool(args.data_dir)
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, env in CONFIGS.items():
            env = {**env, **OFF, "SEQ2SERVE_ARTIFACTS_DIR": args.artifacts, "SEQ2SERVE_LOG_LEVEL": "warning",
                   "SEQ2SERVE_TRANSLATE__MAX_QUEUE": "1024", "SEQ2SERVE_REQUEST_TIMEOUT_S": "60"}  # fmt: skip
            with running_server(env, Path(tmp) / f"{name}.log") as server:
                results[name] = asyncio.run(sweep(f"{server.url}/translate", pool, args))
    print(f"machine: {machine()}\n")
    for name, rows in results.items():
        print(f"### batching={name}\n\n{markdown_table(rows)}\n")
    print(
        "### step / request\n\n| load | request req/s | step req/s | throughput ratio | request p99 s | step p99 s | p99 ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for a, b in zip(results["request"], results["step"], strict=True):
        load = f"{a['concurrency']} clients" if a["mode"] == "closed" else f"{a['rate']:g} req/s offered"
        ta, tb, pa, pb = a["throughput_rps"], b["throughput_rps"], a["p99_ms"], b["p99_ms"]
        print(f"| {load} | {ta:.1f} | {tb:.1f} | {tb / ta:.2f}x | {pa / 1000:.3f} | {pb / 1000:.3f} | {pb / pa:.2f}x |")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
