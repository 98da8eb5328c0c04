"""One heavy /translate request among light ones: are the light ones still served, and on time?

    python -m benchmarks.heavy_mix [--configs defaults,step-nocap,request-nocap] [--light-s 8]

The heavy request: 32 texts of about 100 tokens, beam 16, max_length 200. Half a second later, 4 clients
send light requests (one Multi30k val sentence, beam 5) back to back for `--light-s` seconds. Reported
per configuration: the heavy request's status and time, and the light requests' statuses and latencies.
A 504 is late when it arrives after the request's deadline (SEQ2SERVE_REQUEST_TIMEOUT_S, 10 s here).

Configurations: `defaults` (the served defaults: the heavy request is over MAX_REQUEST_WORK), and with
the work limit lifted, `step-nocap` (step batching, its row budget and per-request share) and
`request-nocap` (request batching), to show what scheduling does when such a request is let in.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.hull_batching import machine
from benchmarks.server import running_server
from benchmarks.translate_batching import OFF
from models.training.paths import default_data_dir
from models.translate.training.data import read_split
from models.translate.vocab import tokenize

TIMEOUT_S = 10.0
CONFIGS = {
    "defaults": {},
    "step-nocap": {"SEQ2SERVE_TRANSLATE__BATCHING": "step", "SEQ2SERVE_TRANSLATE__MAX_REQUEST_WORK": "100000000"},
    "request-nocap": {"SEQ2SERVE_TRANSLATE__BATCHING": "request", "SEQ2SERVE_TRANSLATE__MAX_REQUEST_WORK": "100000000"},
}


def heavy_texts(german: list[str], n: int = 32, tokens: int = 100) -> list[str]:
    """n texts of at most `tokens` Moses tokens each, made of consecutive val sentences."""
    rng, out = random.Random(3), []
    while len(out) < n:
        text = ""
        while True:
            longer = f"{text} {rng.choice(german)}".strip()
            if len(tokenize(longer, "de")) > tokens:
                break
            text = longer
        out.append(text)
    return out


async def light_client(client: httpx.AsyncClient, sentences: list[str], until: float, log: list[tuple[int, float]]) -> None:
    k = 0
    while time.monotonic() < until:
        t0 = time.monotonic()
        r = await client.post("/translate", json={"text": sentences[k % len(sentences)]})
        log.append((r.status_code, time.monotonic() - t0))
        k += 1


async def run(url: str, german: list[str], light_s: float) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=16)) as c:
        body = {"text": heavy_texts(german), "beam_size": 16, "max_length": 200}
        t0 = time.monotonic()
        answered: list[float] = []
        heavy = asyncio.create_task(c.post("/translate", json=body))
        heavy.add_done_callback(lambda _: answered.append(time.monotonic() - t0))
        await asyncio.sleep(0.5)
        light: list[tuple[int, float]] = []
        until = time.monotonic() + light_s
        await asyncio.gather(*(light_client(c, german[k::4], until, light) for k in range(4)))
        response = await heavy
        heavy_s = answered[0]  # when it was answered, not when the light clients stopped
    latencies = sorted(s for _, s in light)
    statuses: dict[str, int] = {}
    for status, _ in light:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    late = sum(1 for status, s in light if status == 504 and s > TIMEOUT_S + 0.5)
    return {"heavy_status": response.status_code, "heavy_s": round(heavy_s, 2),
            "heavy_message": response.json().get("error", {}).get("message", "")[:120] if response.status_code != 200 else "",
            "light_requests": len(light), "light_statuses": statuses, "light_p50_s": round(latencies[len(latencies) // 2], 3),
            "light_p99_s": round(latencies[int(0.99 * (len(latencies) - 1))], 3), "light_max_s": round(latencies[-1], 3),
            "light_over_2s": sum(1 for s in latencies if s > 2.0), "late_504s": late}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", default=",".join(CONFIGS))
    p.add_argument("--light-s", type=float, default=8.0)
    p.add_argument("--artifacts", default="build/models")
    p.add_argument("--data-dir", type=Path, default=default_data_dir())
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    german, _ = read_split(args.data_dir, "val")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.configs.split(","):
            env = {**OFF, **CONFIGS[name], "SEQ2SERVE_ARTIFACTS_DIR": args.artifacts, "SEQ2SERVE_LOG_LEVEL": "warning",
                   "SEQ2SERVE_REQUEST_TIMEOUT_S": str(TIMEOUT_S)}  # fmt: skip
            with running_server(env, Path(tmp) / f"{name}.log") as server:
                results[name] = asyncio.run(run(server.url, german, args.light_s))
    print(f"machine: {machine()}\n")
    print("| configuration | heavy | heavy s | light requests | light statuses | p50 s | p99 s | max s | > 2 s | late 504s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        cells = [name, *(r[k] for k in ("heavy_status", "heavy_s", "light_requests", "light_statuses", "light_p50_s",
                                        "light_p99_s", "light_max_s", "light_over_2s", "late_504s"))]  # fmt: skip
        print("| " + " | ".join(map(str, cells)) + " |")
    for name, r in results.items():
        if r["heavy_message"]:
            print(f"\n{name}: heavy request answered: {r['heavy_message']}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
