"""/translate served four ways, same ONNX graphs, same machine, same load, one run:

1. plain FastAPI calling ONNX Runtime per request, no batching (benchmarks/peers/plain_fastapi.py);
2. a real Triton server (nvidia-pytriton), its dynamic batcher, 32 / 5 ms (benchmarks/peers/pytriton_app.py);
3. LitServe with its dynamic batching, max_batch_size 32, batch_timeout 5 ms (benchmarks/peers/litserve_app.py);
4. this service, request-level batching; 5. this service, step-level batching.

    python -m venv .venv-litserve && .venv-litserve/bin/pip install litserve -e .
    /usr/bin/python3 -m venv .venv-pytriton && .venv-pytriton/bin/pip install nvidia-pytriton -e .
    python -m benchmarks.translate_peers --litserve-python .venv-litserve/bin/python \
        --pytriton-python .venv-pytriton/bin/python [--duration 15]

LitServe and pytriton live in their own venvs (neither is a dependency of this project). Every peer decodes with this
repo's tokenization and beam search over the same exported graphs, so the comparison is of serving
(HTTP, queueing, batching), not of models. Triton is driven over its v2 JSON API.
Load and checks as benchmarks/translate_batching.py: Multi30k val sentences, beam 5, every answer checked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks import loadgen
from benchmarks.hull_batching import machine
from benchmarks.loadgen import markdown_table
from benchmarks.server import ROOT, free_port, running_server
from benchmarks.translate_batching import CONFIGS, OFF, request_pool
from models.training.paths import default_data_dir


def check(_: dict[str, Any], answer: dict[str, Any]) -> bool:
    if "text" in answer:  # the peers' answer
        return bool(answer["text"])
    if "outputs" in answer:  # Triton's v2 answer
        return bool(answer["outputs"][0]["data"][0])
    results = answer.get("results", [])
    return len(results) == 1 and bool(results[0]["translations"][0]["text"])


@contextmanager
def peer(cmd: list[str], log: Path, env: dict[str, str], health: str = "/health") -> Iterator[str]:
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*cmd, "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}{health}", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{cmd} did not start:\n{log.read_text()}")
            time.sleep(0.3)
        yield url
    finally:  # the whole process group: LitServe and Triton start worker processes of their own
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


async def sweep(url: str, pool: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    return await loadgen.sweep(url, pool, args.closed, args.open, args.duration, warmup_s=3, check=check)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=15)
    p.add_argument("--closed", type=lambda s: [int(x) for x in s.split(",") if x], default=[8, 32])
    p.add_argument("--open", type=lambda s: [float(x) for x in s.split(",") if x], default=[16, 32])
    p.add_argument("--artifacts", default="build/models")
    p.add_argument("--data-dir", type=Path, default=default_data_dir())
    p.add_argument("--litserve-python", default=None, help="python of a venv with litserve and this repo installed")
    p.add_argument("--pytriton-python", default=None, help="python of a Debian-python venv with nvidia-pytriton and this repo")
    p.add_argument(
        "--ours",
        type=lambda s: s.split(","),
        default=None,
        help="this service's configurations to run (default: all), e.g. request,process",
    )
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    pool = request_pool(args.data_dir)
    env = {"SEQ2SERVE_ARTIFACTS_DIR": args.artifacts, "PYTHONPATH": str(ROOT)}
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        plain = [sys.executable, "-m", "uvicorn", "benchmarks.peers.plain_fastapi:app", "--log-level", "warning"]
        with peer(plain, Path(tmp) / "plain.log", env) as url:
            results["plain FastAPI + ORT"] = asyncio.run(sweep(f"{url}/translate", pool, args))
        if args.pytriton_python:
            v2_pool = [{"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1, 1], "data": [b["text"]]}]} for b in pool]
            cmd = [args.pytriton_python, "benchmarks/peers/pytriton_app.py"]
            with peer(cmd, Path(tmp) / "pytriton.log", env, health="/v2/health/ready") as url:
                results["Triton (pytriton), batching 32 / 5 ms"] = asyncio.run(
                    sweep(f"{url}/v2/models/translate/infer", v2_pool, args)
                )
        if args.litserve_python:
            with peer([args.litserve_python, "benchmarks/peers/litserve_app.py"], Path(tmp) / "litserve.log", env) as url:
                results["LitServe, batching 32 / 5 ms"] = asyncio.run(sweep(f"{url}/translate", pool, args))
        # The service as it ran before httptools and uvloop were installed: what they buy, in the same run.
        # and the search in a worker process of its own, off the HTTP process's GIL.
        configs = {**CONFIGS, "request, h11 + asyncio": {**CONFIGS["request"], "SEQ2SERVE_HTTP": "h11",
                                                         "SEQ2SERVE_LOOP": "asyncio"},
                   "request, worker=process": {**CONFIGS["request"], "SEQ2SERVE_TRANSLATE__WORKER": "process"}}  # fmt: skip
        chosen = {k: v for k, v in configs.items() if args.ours is None or k.split(", ")[-1].split("=")[-1] in args.ours}
        for name, cfg in chosen.items():
            server_env = {**cfg, **OFF, "SEQ2SERVE_ARTIFACTS_DIR": args.artifacts, "SEQ2SERVE_LOG_LEVEL": "warning",
                          "SEQ2SERVE_TRANSLATE__MAX_QUEUE": "1024", "SEQ2SERVE_REQUEST_TIMEOUT_S": "60"}  # fmt: skip
            with running_server(server_env, Path(tmp) / f"{name}.log") as server:
                results[f"seq2serve, batching={name}"] = asyncio.run(sweep(f"{server.url}/translate", pool, args))
    print(f"machine: {machine()}\n")
    for name, rows in results.items():
        print(f"#### {name}\n\n{markdown_table(rows)}\n")
    base = results["plain FastAPI + ORT"]
    names = list(results)
    print("#### throughput (req/s) and p99 (s), each relative to plain FastAPI + ORT\n")
    print("| load | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for k, row in enumerate(base):
        load = f"{row['concurrency']} clients" if row["mode"] == "closed" else f"{row['rate']:g} req/s offered"
        cells = []
        for n in names:
            r = results[n][k]
            cells.append(f"{r['throughput_rps']:.1f} ({r['throughput_rps'] / row['throughput_rps']:.2f}x), "
                         f"p99 {r['p99_ms'] / 1000:.3f} ({r['p99_ms'] / row['p99_ms']:.2f}x)")  # fmt: skip
        print(f"| {load} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
