"""/hull with dynamic batching off (max_batch_size=1) vs on, same model, same load, one run.

    python -m benchmarks.hull_batching [--duration 10] [--closed 1,4,16,32,64] [--open 50,100,200,400] [--step]

Each configuration runs in its own server process (real uvicorn, real HTTP over loopback); the load
generator (benchmarks/loadgen.py) runs in this process. Requests: greedy decoding of 10..50 uniform
points, a fixed seeded pool used round-robin, every answer checked. Prints a markdown table and the
on/off throughput ratio per concurrency; `--json` keeps the raw rows.

Note that client and server share this machine's cores: the ratios are the meaningful numbers.
With `--hey C` (needs Debian's `hey`: apt-get install hey), each configuration is also loaded by
hey, a Go client that costs far less CPU than the Python one, at concurrency C with one fixed
30-point body: a cross-check that the Python client is not what limits throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import loadgen
from benchmarks.loadgen import markdown_table
from benchmarks.server import running_server

CONFIGS = {
    "batching off": {"SEQ2SERVE_HULL__MAX_BATCH_SIZE": "1", "SEQ2SERVE_HULL__MAX_WAIT_MS": "0"},
    "batching on": {"SEQ2SERVE_HULL__MAX_BATCH_SIZE": "64", "SEQ2SERVE_HULL__MAX_WAIT_MS": "2"},
}
STEP = {"step batching": {"SEQ2SERVE_HULL__BATCHING": "step", "SEQ2SERVE_HULL__MAX_BATCH_SIZE": "64"}}  # with --step


def request_pool(size: int = 256, seed: int = 7) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    return [{"points": rng.random((int(rng.integers(10, 51)), 2)).round(5).tolist()} for _ in range(size)]


def check(body: dict[str, Any], answer: dict[str, Any]) -> bool:
    return answer.get("model") == "hull" and all(0 <= i < len(body["points"]) for i in answer.get("hull", [-1]))


async def sweep(url: str, pool: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    return await loadgen.sweep(url, pool, args.closed, args.open, args.duration, warmup_s=2, check=check)


def hey_rps(url: str, concurrency: int, seconds: float, body_file: Path) -> float:
    """Requests/s that hey measured in a closed loop (its own summary line)."""
    cmd = [
        "hey",
        "-z",
        f"{seconds:.0f}s",
        "-c",
        str(concurrency),
        "-m",
        "POST",
        "-T",
        "application/json",
        "-D",
        str(body_file),
        url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    codes = re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)
    if any(code != "200" for code, _ in codes):
        raise RuntimeError(f"hey saw non-200 answers: {codes}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"no Requests/sec in hey's output:\n{out}")
    return float(match.group(1))


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())  # fmt: skip
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--closed", type=lambda s: [int(x) for x in s.split(",") if x], default=[1, 4, 16, 32, 64])
    p.add_argument("--open", type=lambda s: [float(x) for x in s.split(",") if x], default=[50, 100, 200, 400])
    p.add_argument("--artifacts", default="build/models")
    p.add_argument("--json", type=Path)
    p.add_argument("--hey", type=int, default=0, help="also run hey at this concurrency (0: skip)")
    p.add_argument("--step", action="store_true", help="also run step-level batching (max 64 active requests)")
    args = p.parse_args()
    configs = {**CONFIGS, **(STEP if args.step else {})}
    if args.hey and shutil.which("hey") is None:
        p.error("--hey needs the hey binary (apt-get install hey)")
    pool = request_pool()
    results: dict[str, list[dict[str, Any]]] = {}
    hey: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp) / "body.json"
        body_file.write_text(json.dumps({"points": np.random.default_rng(3).random((30, 2)).round(5).tolist()}))
        for name, env in configs.items():
            env = {**env, "SEQ2SERVE_ARTIFACTS_DIR": args.artifacts, "SEQ2SERVE_LOG_LEVEL": "warning",
                   "SEQ2SERVE_HULL__MAX_QUEUE": "1024"}  # fmt: skip
            with running_server(env, Path(tmp) / f"{name}.log") as server:
                results[name] = asyncio.run(sweep(f"{server.url}/hull", pool, args))
                if args.hey:
                    hey[name] = hey_rps(f"{server.url}/hull", args.hey, args.duration, body_file)
    print(f"machine: {machine()}\n")
    for name, rows in results.items():
        knobs = ", ".join(f"{k.split('__')[-1].lower()}={v}" for k, v in configs[name].items())
        print(f"### {name} ({knobs})\n")
        print(markdown_table(rows) + "\n")
    print("### throughput ratio, on / off (closed loop)\n\n| concurrency | off req/s | on req/s | ratio |\n|---|---|---|---|")
    for off, on in zip(results["batching off"], results["batching on"], strict=True):
        if off["mode"] == "closed":
            a, b = off["throughput_rps"], on["throughput_rps"]
            print(f"| {off['concurrency']} | {a:.0f} | {b:.0f} | {b / a:.2f}x |")
    if args.step:
        print("\n### step / request-level batching\n\n| load | on req/s | step req/s | ratio | on p99 ms | step p99 ms | ratio |")
        print("|---|---|---|---|---|---|---|")
        for on, st in zip(results["batching on"], results["step batching"], strict=True):
            load = f"{on['concurrency']} clients" if on["mode"] == "closed" else f"{on['rate']:g} req/s"
            a, b, pa, pb = on["throughput_rps"], st["throughput_rps"], on["p99_ms"], st["p99_ms"]
            print(f"| {load} | {a:.0f} | {b:.0f} | {b / a:.2f}x | {pa:.0f} | {pb:.0f} | {pb / pa:.2f}x |")
    if hey:
        off, on = hey["batching off"], hey["batching on"]
        print(f"\n### hey, closed loop at concurrency {args.hey}, one 30-point body\n")
        print(f"| off req/s | on req/s | ratio |\n|---|---|---|\n| {off:.0f} | {on:.0f} | {on / off:.2f}x |")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
