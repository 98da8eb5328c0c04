"""Asyncio HTTP load generator for the seq2serve inference service.

What it measures: for POST JSON requests against one URL, the number of requests sent, how many succeeded (2xx),
errors by kind (HTTP status code, exception class name, "mismatch" for a failed answer check, "client_overflow" for
requests the client refused to issue), throughput (successful responses per second of measured wall time) and the
latency distribution of successful requests (p50/p90/p99/mean, in ms, computed with numpy).

How it measures, in two modes:

* closed loop (``closed_loop``): ``concurrency`` workers each send a request, wait for the answer, and send the next
  one. This finds the throughput the server sustains at a fixed number of requests in flight; latency here is the
  service time seen by one client, and it hides queueing, because a slow server also slows the senders down.
* open loop (``open_loop``): requests arrive as a Poisson process at ``rate`` req/s (exponential gaps from a seeded
  ``random.Random``, so runs repeat), each in its own task, whether or not earlier ones have answered. Latency is
  taken from the *scheduled* send time, not from when the client got round to sending, so delays in the client or in
  the connection pool count against the server instead of being omitted ("coordinated omission"). Outstanding
  requests are capped (``MAX_OUTSTANDING``); arrivals over the cap are counted as "client_overflow", not queued.
  If the client machine itself cannot keep up with the rate, that too shows up as latency: check the CPU.

Both modes first run a warm-up (connections opened, caches and any lazy model load warmed) whose results are thrown
away; requests whose (scheduled) start falls inside the measured window of ``duration_s`` are all counted, including
those that finish after it, and ``duration_s`` in the result is the wall time from the window's start until the last
of them finished. Every request has a total time limit (``timeout_s``), so each run ends by itself within about
``warmup_s + duration_s + timeout_s``. One ``httpx.AsyncClient`` with keep-alive is used per run.

Workplace rule: load only goes to this machine. URLs whose host is not 127.0.0.1, localhost or ::1 are refused
(``ValueError`` from the library functions, an error exit from the CLI).

CLI example::

    python -m benchmarks.loadgen --url http://127.0.0.1:8000/hull --body-file body.json \\
        --closed 1,4,16 --open 50,100 --duration 10 --json out.json

``--body-file`` holds one JSON body, or a JSON list of bodies used round-robin.
"""

import argparse
import asyncio
import itertools
import json
import math
import random
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Cap on requests in flight in open-loop mode: past it the server is hopelessly behind, and more tasks would only
# exhaust client memory and file descriptors without telling us anything new.
MAX_OUTSTANDING = 4096
# Open-loop connection pool size: enough for a loopback server's real parallelism; requests beyond it wait in the
# pool, and since latency counts from the scheduled time, that wait is measured rather than hidden.
OPEN_LOOP_CONNECTIONS = 256

MakeBody = Callable[[int], dict]
Check = Callable[[dict, dict], bool]


def require_loopback(url: str) -> None:
    """Raise ValueError unless ``url`` is http(s) to a loopback host (workplace rule: load stays on this machine)."""
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"only http(s) URLs are supported, got {url!r}")
    if parsed.host not in LOOPBACK_HOSTS:
        raise ValueError(f"refusing non-loopback target {parsed.host!r}: load may only go to 127.0.0.1, localhost or ::1")


@dataclass
class LoadResult:
    """Outcome of one load run. ``sent == ok + sum(errors.values())``; latencies cover successful requests only."""

    mode: str
    concurrency: int | None
    rate: float | None
    duration_s: float
    sent: int
    ok: int
    errors: dict[str, int]
    throughput: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float

    def to_row(self) -> dict[str, Any]:
        """Flat dict for tables and JSON; NaN (no successful request) becomes None so the JSON stays valid."""
        return {
            "mode": self.mode,
            "concurrency": self.concurrency,
            "rate": self.rate,
            "duration_s": round(self.duration_s, 3),
            "sent": self.sent,
            "ok": self.ok,
            "errors": dict(self.errors),
            "throughput_rps": _round(self.throughput, 2),
            "p50_ms": _round(self.p50_ms, 2),
            "p90_ms": _round(self.p90_ms, 2),
            "p99_ms": _round(self.p99_ms, 2),
            "mean_ms": _round(self.mean_ms, 2),
        }


def _round(x: float, ndigits: int) -> float | None:
    return None if math.isnan(x) else round(x, ndigits)


@dataclass
class _Tally:
    """Counters for the measured window; warm-up requests never reach it."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    sent: int = 0

    def record(self, outcome: str | None, latency_s: float) -> None:
        self.sent += 1
        if outcome is None:
            self.latencies_ms.append(latency_s * 1000.0)
        else:
            self.errors[outcome] += 1

    def result(self, mode: str, concurrency: int | None, rate: float | None, duration_s: float) -> LoadResult:
        lat = np.asarray(self.latencies_ms, dtype=np.float64)
        if lat.size:
            p50, p90, p99 = (float(v) for v in np.percentile(lat, [50, 90, 99]))
            mean = float(lat.mean())
        else:
            p50 = p90 = p99 = mean = math.nan
        return LoadResult(
            mode=mode,
            concurrency=concurrency,
            rate=rate,
            duration_s=duration_s,
            sent=self.sent,
            ok=int(lat.size),
            errors=dict(self.errors),
            throughput=lat.size / duration_s if duration_s > 0 else 0.0,
            p50_ms=p50,
            p90_ms=p90,
            p99_ms=p99,
            mean_ms=mean,
        )


def _validate(url: str, duration_s: float, warmup_s: float, timeout_s: float) -> None:
    require_loopback(url)
    if duration_s <= 0 or warmup_s < 0 or timeout_s <= 0:
        raise ValueError("need duration_s > 0, warmup_s >= 0 and timeout_s > 0")


def _client(connections: int, timeout_s: float) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    # trust_env=False: proxy variables must not divert loopback traffic elsewhere.
    return httpx.AsyncClient(limits=limits, timeout=timeout_s, trust_env=False)


async def _send(client: httpx.AsyncClient, url: str, body: dict, timeout_s: float, check: Check | None) -> str | None:
    """POST one request; return None on success, else the error key."""
    try:
        # httpx timeouts apply per phase (connect, each read...); this bounds the whole exchange, pool wait included.
        async with asyncio.timeout(timeout_s):
            response = await client.post(url, json=body)
        if not response.is_success:
            return str(response.status_code)
        if check is not None and response.status_code == 200 and not check(body, response.json()):
            return "mismatch"
        return None
    except Exception as exc:  # a load generator records failures and goes on; CancelledError is not caught
        return type(exc).__name__


async def closed_loop(
    url: str,
    make_body: MakeBody,
    concurrency: int,
    duration_s: float,
    warmup_s: float = 1.0,
    timeout_s: float = 30.0,
    check: Check | None = None,
) -> LoadResult:
    """``concurrency`` workers send back-to-back requests for ``warmup_s + duration_s``; only the window is kept."""
    _validate(url, duration_s, warmup_s, timeout_s)
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    loop = asyncio.get_running_loop()
    window_start = loop.time() + warmup_s
    window_end = window_start + duration_s
    counter = itertools.count()  # shared, so bodies go round-robin across workers, not per worker
    tally = _Tally()

    async def worker(client: httpx.AsyncClient) -> None:
        while (start := loop.time()) < window_end:
            body = make_body(next(counter))
            outcome = await _send(client, url, body, timeout_s, check)
            if start >= window_start:
                tally.record(outcome, loop.time() - start)

    async with _client(concurrency, timeout_s) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return tally.result("closed", concurrency, None, loop.time() - window_start)


async def open_loop(
    url: str,
    make_body: MakeBody,
    rate: float,
    duration_s: float,
    warmup_s: float = 1.0,
    timeout_s: float = 30.0,
    check: Check | None = None,
    seed: int = 0,
) -> LoadResult:
    """Poisson arrivals at ``rate`` req/s for ``warmup_s + duration_s``; latency counts from each scheduled send."""
    _validate(url, duration_s, warmup_s, timeout_s)
    if rate <= 0:
        raise ValueError("rate must be > 0")
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    window_start = loop.time() + warmup_s
    window_end = window_start + duration_s
    tally = _Tally()
    outstanding: set[asyncio.Task[None]] = set()  # also keeps tasks referenced so they are not garbage-collected

    async def one(client: httpx.AsyncClient, i: int, scheduled: float) -> None:
        body = make_body(i)
        outcome = await _send(client, url, body, timeout_s, check)
        if scheduled >= window_start:
            tally.record(outcome, loop.time() - scheduled)

    async with _client(OPEN_LOOP_CONNECTIONS, timeout_s) as client:
        scheduled = loop.time()
        for i in itertools.count():
            scheduled += rng.expovariate(rate)
            if scheduled >= window_end:
                break
            # sleep(0) when behind schedule still yields, so in-flight requests keep making progress.
            await asyncio.sleep(max(0.0, scheduled - loop.time()))
            if len(outstanding) >= MAX_OUTSTANDING:
                if scheduled >= window_start:
                    tally.record("client_overflow", 0.0)
                continue
            task = asyncio.create_task(one(client, i, scheduled))
            outstanding.add(task)
            task.add_done_callback(outstanding.discard)
        if outstanding:
            await asyncio.gather(*outstanding)
    return tally.result("open", None, rate, loop.time() - window_start)


# ---------------------------------------------------------------------------------------------------------------- CLI

COLUMNS = (
    ("mode", "mode"),
    ("concurrency", "concurrency"),
    ("rate", "rate"),
    ("sent", "sent"),
    ("ok", "ok"),
    ("errors", "errors"),
    ("throughput_rps", "throughput req/s"),
    ("p50_ms", "p50 ms"),
    ("p90_ms", "p90 ms"),
    ("p99_ms", "p99 ms"),
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}:{v}" for k, v in sorted(value.items())) or "-"
    return str(value)


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]] = COLUMNS) -> str:
    """Render ``LoadResult.to_row()`` dicts (or rows a benchmark extends) as a markdown table of ``columns``:
    (key, title) pairs."""
    lines = ["| " + " | ".join(title for _, title in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row[key]) for key, _ in columns) + " |" for row in rows]
    return "\n".join(lines)


def _int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _float_list(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.loadgen", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="target URL; must be on 127.0.0.1, localhost or ::1")
    p.add_argument("--body-file", required=True, type=Path, help="JSON body, or JSON list of bodies used round-robin")
    p.add_argument("--closed", type=_int_list, default=[], help="comma-separated concurrencies for closed-loop runs")
    p.add_argument("--open", type=_float_list, default=[], help="comma-separated rates (req/s) for open-loop runs")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=1.0, help="discarded warm-up seconds per run")
    p.add_argument("--timeout", type=float, default=30.0, help="total time limit per request, seconds")
    p.add_argument("--seed", type=int, default=0, help="seed for open-loop arrival times")
    p.add_argument("--json", type=Path, help="also write all rows to this JSON file")
    return p


def _load_bodies(path: Path) -> list[dict]:
    data = json.loads(path.read_text())
    bodies = data if isinstance(data, list) else [data]
    if not bodies or not all(isinstance(b, dict) for b in bodies):
        raise ValueError(f"{path}: expected a JSON object or a non-empty list of objects")
    return bodies


async def sweep(
    url: str,
    pool: Sequence[dict],
    closed: Sequence[int],
    rates: Sequence[float],
    duration_s: float,
    warmup_s: float,
    check: Check | None = None,
) -> list[dict[str, Any]]:
    """Table rows of a closed loop per concurrency, then an open loop per rate, over a pool of bodies used
    round-robin: what every benchmark in benchmarks/ runs against each server it compares."""

    def make(i: int) -> dict:
        return pool[i % len(pool)]

    rows = [(await closed_loop(url, make, c, duration_s, warmup_s=warmup_s, check=check)).to_row() for c in closed]
    rows += [(await open_loop(url, make, r, duration_s, warmup_s=warmup_s, check=check)).to_row() for r in rates]
    return rows


async def _sweep(args: argparse.Namespace, make_body: MakeBody) -> list[LoadResult]:
    common = {"duration_s": args.duration, "warmup_s": args.warmup, "timeout_s": args.timeout}
    results = [await closed_loop(args.url, make_body, c, **common) for c in args.closed]
    results += [await open_loop(args.url, make_body, r, seed=args.seed, **common) for r in args.open]
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        require_loopback(args.url)  # before anything else: nothing may go to another host
        bodies = _load_bodies(args.body_file)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    if not args.closed and not args.open:
        parser.error("give --closed and/or --open")
    results = asyncio.run(_sweep(args, lambda i: bodies[i % len(bodies)]))
    rows = [r.to_row() for r in results]
    print(markdown_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
