"""Reliability harness: capacity, soak, overload, recovery and client disconnects, against a real server.

    python -m benchmarks.reliability [--soak-s 300] [--overload-s 60] [--recovery-s 60] [--out build/reliability]

Starts `python -m service` (benchmarks/server.py) on a free loopback port, /hull only, with a small queue and
queue deadline (SEQ2SERVE_HULL__MAX_QUEUE, SEQ2SERVE_REQUEST_TIMEOUT_S), then runs in order:

a. capacity: a closed loop on /hull (benchmarks/loadgen.py; /translate too with --translate-share); its
   throughput is "capacity". A warm-up pass then records the server's own answer to every body of a seeded pool.
b. soak: open-loop Poisson arrivals at soak-factor x capacity for --soak-s. Every request carries a unique
   X-Request-ID and every answer is checked: the response's X-Request-ID must be the request's; the answer must
   belong to the request's body (the hull's coordinates are points of that body; a translation's source is that
   text), else it is "foreign", an answer meant for another request; and it must equal the warm-up answer for
   that body, else it is "changed". Server RSS (VmRSS) is sampled all along.
c. baseline, then overload: recovery-factor x capacity for --recovery-s (the reference p99 for d), then
   overload-factor x capacity for --overload-s: counts by status, Retry-After on every 503, p99 of the admitted.
d. recovery: recovery-factor x capacity again for --recovery-s: no errors, p99 back near the baseline's.
e. disconnect: one slow request occupies the batcher, --victims requests queue behind it and are cancelled
   client-side; /metrics must show them dropped (seq2serve_dropped_requests_total{reason="cancelled"}) and
   never computed (seq2serve_batch_size_sum grows by the slow request only).

Latency counts from each request's scheduled send time (as in loadgen's open loop). A request with no response
(timeout, connection error) is "lost". 503 and 504 are the documented shedding; any other non-200 is an error.
Writes result.json, result.md and server.log to --out, prints the tables, and exits 1 if a check fails.
Loopback only, like the load generator. Client and server share the CPU: rates are relative to a capacity
measured by this same client on this same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.loadgen import MAX_OUTSTANDING, OPEN_LOOP_CONNECTIONS, closed_loop, require_loopback
from benchmarks.server import Server, running_server
from service.tasks import MODELS

OTHER_MODELS = tuple(name.upper() for name in MODELS if name != "hull")  # every model but the one under test
# Phase e's slow request: 256 points on a circle (all of them hull vertices, so a trained model decodes 257 steps),
# beam search with the smallest beam from this ladder that takes long enough; the server allows beams this wide.
BLOCKER_POINTS = 256
BLOCKER_BEAMS = (16, 32, 64, 128)
SHED = ("503", "504")
CLIENT_SHARDS = 8  # httpx clients per open-loop phase, each with OPEN_LOOP_CONNECTIONS / CLIENT_SHARDS connections
MIB = 1024.0

GERMAN = [
    "Ein Mann fährt Fahrrad.", "Eine Frau liest ein Buch.", "Zwei Hunde spielen im Park.",
    "Ein Kind isst einen Apfel.", "Ein Mann spielt Gitarre auf der Straße.", "Eine Gruppe von Menschen steht vor einem Gebäude.",
    "Ein kleiner Junge springt in einen See.", "Zwei Frauen sitzen auf einer Bank.", "Ein Hund läuft durch den Schnee.",
    "Ein Mann in einem roten Hemd kocht.", "Die Kinder spielen Fußball auf dem Rasen.", "Eine Frau trägt einen blauen Hut.",
]  # fmt: skip


@dataclass
class Config:
    capacity_s: float = 10.0  # closed loop that measures capacity
    soak_s: float = 300.0
    overload_s: float = 60.0
    recovery_s: float = 60.0  # also the baseline phase's length
    soak_factor: float = 0.9  # x capacity
    overload_factor: float = 2.5
    recovery_factor: float = 0.5
    concurrency: int = 32  # of the capacity closed loop
    pool: int = 512  # bodies per endpoint, each answered once in the warm-up pass
    # /hull decoding. Beam search costs the server more per request than the Python client spends sending it, so
    # the model, not the client sharing the CPU, is the bottleneck, and overload really overloads the server.
    decoding: str = "beam"
    beam_size: int = 8
    translate_share: float = 0.0  # share of requests to /translate (0: /hull only)
    max_queue: int = 64  # per-model queue bound on the server: more queued requests get 503
    request_timeout_s: float = 2.0  # server-side queue deadline: a request queued longer gets 504
    client_timeout_s: float = 30.0  # a request with no response by then is "lost"
    victims: int = 32  # requests cancelled client-side in phase e (0: skip it)
    blocker_s: float = 1.0  # phase e's slow request should take at least this long
    rss_every_s: float = 5.0
    rss_tolerance_mib: float = 32.0  # soak RSS growth allowed before the check fails
    seed: int = 0
    artifacts_dir: Path | None = None  # SEQ2SERVE_ARTIFACTS_DIR (default: the server's own, build/models)
    log_level: str = "warning"  # the server's; "info" logs every request with its id (costs CPU)
    extra_env: dict[str, str] = field(default_factory=dict)


def server_env(cfg: Config) -> dict[str, str]:
    """SEQ2SERVE_* settings of the server under test."""
    env = {
        "SEQ2SERVE_HULL__MAX_QUEUE": str(cfg.max_queue),
        "SEQ2SERVE_HULL__MAX_BEAM_SIZE": str(BLOCKER_BEAMS[-1]),
        "SEQ2SERVE_REQUEST_TIMEOUT_S": str(cfg.request_timeout_s),
        "SEQ2SERVE_LOG_LEVEL": cfg.log_level,
        **{f"SEQ2SERVE_{m}__ENABLED": "false" for m in OTHER_MODELS},
    }
    if cfg.translate_share > 0:
        env |= {"SEQ2SERVE_TRANSLATE__ENABLED": "true", "SEQ2SERVE_TRANSLATE__MAX_QUEUE": str(cfg.max_queue)}
    if cfg.artifacts_dir is not None:
        env["SEQ2SERVE_ARTIFACTS_DIR"] = str(cfg.artifacts_dir)
    return env | cfg.extra_env


# ------------------------------------------------------------------------------------------------ bodies and answers


@dataclass
class Case:
    """One request body; `expected` is the server's answer to it in the warm-up pass."""

    path: str
    body: dict[str, Any]
    expected: Any = None

    def answer(self, response: dict[str, Any]) -> Any:
        if self.path == "/hull":
            return response["hull"]
        return [[t["text"] for t in r["translations"]] for r in response["results"]]

    def belongs(self, response: dict[str, Any]) -> bool:
        """The answer is about this body: an answer meant for another request fails this."""
        if self.path == "/hull":
            points = self.body["points"]
            hull = response["hull"]
            return all(0 <= i < len(points) for i in hull) and response["coordinates"] == [points[i] for i in hull]
        return [r["source"] for r in response["results"]] == [self.body["text"]]


@dataclass
class Traffic:
    hull: list[Case]
    translate: list[Case]
    share: float  # of /translate

    def pick(self, rng: random.Random) -> Case:
        cases = self.translate if self.translate and rng.random() < self.share else self.hull
        return cases[rng.randrange(len(cases))]

    def cases(self) -> list[Case]:
        return [*self.hull, *self.translate]


def make_traffic(cfg: Config) -> Traffic:
    """Seeded bodies: 10..50 uniform points per /hull request, one German sentence per /translate."""
    rng = np.random.default_rng(cfg.seed)
    options = {"decoding": cfg.decoding, "beam_size": cfg.beam_size}
    hull = [
        Case("/hull", {"points": rng.random((int(rng.integers(10, 51)), 2)).round(6).tolist(), **options})
        for _ in range(cfg.pool)
    ]
    translate = []
    if cfg.translate_share > 0:
        texts = [GERMAN[i % len(GERMAN)] for i in range(min(cfg.pool, 4 * len(GERMAN)))]
        # Same sentence, distinct beam sizes: distinct bodies, each with its own expected answer.
        translate = [Case("/translate", {"text": t, "beam_size": 1 + i // len(GERMAN)}) for i, t in enumerate(texts)]
    return Traffic(hull, translate, cfg.translate_share)


def client(connections: int, timeout_s: float) -> httpx.AsyncClient:
    # Idle connections are dropped after 2 s, well before uvicorn closes them (5 s): httpx's default is also 5 s,
    # and a request sent on a connection the server is closing that very moment fails (a lost response).
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=2.0)
    return httpx.AsyncClient(limits=limits, timeout=timeout_s, trust_env=False)  # no proxy for loopback


async def learn_answers(base: str, cases: list[Case], concurrency: int = 16) -> None:
    """Warm-up pass: the server's answer to every body becomes that body's expected answer."""
    sem = asyncio.Semaphore(concurrency)

    async def one(c: httpx.AsyncClient, case: Case) -> None:
        async with sem:
            r = await c.post(base + case.path, json=case.body)
        if r.status_code != 200:
            raise RuntimeError(f"warm-up {case.path}: {r.status_code} {r.text[:200]}")
        case.expected = case.answer(r.json())

    async with client(concurrency, 60) as c:
        await asyncio.gather(*(one(c, case) for case in cases))


# ---------------------------------------------------------------------------------------------------------------- RSS


class RssMonitor:
    """VmRSS of the server process, sampled every `every_s` and at each phase's start and end."""

    def __init__(self, pid: int, every_s: float) -> None:
        self.pid, self.every_s = pid, every_s
        self.phase = "start"
        self.t0 = time.monotonic()
        self.samples: list[tuple[float, str, int]] = []  # (seconds since start, phase, kB)

    def read_kb(self) -> int | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return None

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the server has used so far."""
        try:
            fields_ = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return math.nan
        return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")

    def sample(self) -> None:
        kb = self.read_kb()
        if kb is not None:
            self.samples.append((round(time.monotonic() - self.t0, 2), self.phase, kb))

    def begin(self, phase: str) -> None:
        self.phase = phase
        self.sample()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            self.sample()

    def summary(self, phase: str) -> dict[str, float] | None:
        """Start, end, max and drift (end - start) in MiB; `trend_mib`, the median of the last quarter of the
        samples minus that of the first, is what the leak check uses: RSS moves by tens of MiB between two
        samples as the allocator takes and returns memory, and one sample at each end would see that as drift."""
        kb = [s[2] for s in self.samples if s[1] == phase]
        if not kb:
            return None
        q = max(1, len(kb) // 4)
        trend = float(np.median(kb[-q:])) - float(np.median(kb[:q]))
        mib = {"start": kb[0], "end": kb[-1], "max": max(kb), "drift": kb[-1] - kb[0], "trend": trend}
        return {f"{k}_mib": round(v / MIB, 1) for k, v in mib.items()} | {"samples": len(kb)}


# ------------------------------------------------------------------------------------------------------- open loop


@dataclass
class PhaseStats:
    """Every request of one phase, checked. `lost`: no response at all (timeout, connection error)."""

    name: str
    rate: float
    duration_s: float = 0.0
    sent: int = 0
    not_sent: int = 0  # over the client's cap on outstanding requests (loadgen.MAX_OUTSTANDING)
    statuses: Counter[str] = field(default_factory=Counter)  # HTTP status, or the exception's name
    lost: int = 0
    checked: int = 0  # 200 answers checked against their request
    id_mismatches: int = 0  # X-Request-ID of the response is not the request's (any status)
    foreign: int = 0  # a 200 answer that is not about this request's body
    changed: int = 0  # a 200 answer about this body that differs from its warm-up answer
    missing_retry_after: int = 0  # 503 without Retry-After
    server_cores: float | None = None  # CPU seconds per second of the server process, and of this client
    client_cores: float | None = None
    # Of 200s: from the scheduled send time (what a user sees, client lag included), and from the actual send
    # (what the server took, once the client got round to sending: the bound that shedding keeps).
    latencies_ms: list[float] = field(default_factory=list)
    service_ms: list[float] = field(default_factory=list)
    lag_ms: list[float] = field(default_factory=list)  # actual send - scheduled send, every request

    @property
    def errors(self) -> int:
        """Anything but 200 and the documented shedding (503, 504): other statuses and lost requests."""
        return sum(n for s, n in self.statuses.items() if s != "200" and s not in SHED)

    def percentiles(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for prefix, values, qs in (("", self.latencies_ms, (50, 99)), ("service_", self.service_ms, (50, 99)),
                                   ("lag_", self.lag_ms, (99,))):  # fmt: skip
            arr = np.asarray(values)
            for q in qs:
                out[f"{prefix}p{q}_ms"] = round(float(np.percentile(arr, q)), 1) if arr.size else None
        out["max_ms"] = round(max(self.latencies_ms), 1) if self.latencies_ms else None
        return out

    def to_row(self) -> dict[str, Any]:
        skip = ("latencies_ms", "service_ms", "lag_ms", "statuses")
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        row["statuses"] = dict(sorted(self.statuses.items()))
        row["duration_s"], row["rate"] = round(self.duration_s, 2), round(self.rate, 1)
        return row | {"errors": self.errors, "ok_rps": round(self.statuses["200"] / self.duration_s, 1)} | self.percentiles()


async def exchange(c: httpx.AsyncClient, base: str, case: Case, request_id: str, stats: PhaseStats, timeout_s: float,
                   scheduled: float) -> None:  # fmt: skip
    """Send one request and record what came back, checked."""
    loop = asyncio.get_running_loop()
    sent = loop.time()
    stats.sent += 1
    stats.lag_ms.append((sent - scheduled) * 1000)
    try:
        async with asyncio.timeout(timeout_s):
            r = await c.post(base + case.path, json=case.body, headers={"X-Request-ID": request_id})
    except Exception as exc:  # recorded, not raised: a lost response is a result; CancelledError is not caught
        stats.lost += 1
        stats.statuses[type(exc).__name__] += 1
        return
    done = loop.time()
    stats.statuses[str(r.status_code)] += 1
    stats.id_mismatches += r.headers.get("x-request-id") != request_id
    if r.status_code == 503 and not r.headers.get("retry-after"):
        stats.missing_retry_after += 1
    if r.status_code != 200:
        return
    stats.checked += 1
    stats.latencies_ms.append((done - scheduled) * 1000)
    stats.service_ms.append((done - sent) * 1000)
    try:
        answer = r.json()
        belongs = case.belongs(answer)
    except (ValueError, KeyError, TypeError):
        belongs = False
    stats.foreign += not belongs
    stats.changed += belongs and case.answer(answer) != case.expected


async def open_phase(name: str, base: str, traffic: Traffic, rate: float, duration_s: float, cfg: Config) -> PhaseStats:
    """Poisson arrivals at `rate` req/s for `duration_s` (seeded per phase); ends when every request has ended.

    Arrivals go into a queue that OPEN_LOOP_CONNECTIONS senders drain, so at most that many requests are at the
    server at once; time spent waiting for a sender is client lag, counted in the latency from the scheduled
    time. The senders share CLIENT_SHARDS httpx clients: httpx's connection pool does work per connection and
    per waiting request on every request, and one pool of hundreds of connections (or thousands of waiting
    tasks) costs the client so much CPU under overload that the server never sees the overload.
    """
    loop = asyncio.get_running_loop()
    rng = random.Random(f"{cfg.seed}-{name}")
    stats = PhaseStats(name, rate)
    run_id = uuid.uuid4().hex[:8]
    arrivals: asyncio.Queue[tuple[Case, str, float] | None] = asyncio.Queue()
    per_shard = OPEN_LOOP_CONNECTIONS // CLIENT_SHARDS

    async def sender(c: httpx.AsyncClient) -> None:
        while (arrival := await arrivals.get()) is not None:
            case, request_id, scheduled = arrival
            await exchange(c, base, case, request_id, stats, cfg.client_timeout_s, scheduled)

    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(client(per_shard, cfg.client_timeout_s)) for _ in range(CLIENT_SHARDS)]
        senders = [asyncio.create_task(sender(c)) for c in clients for _ in range(per_shard)]
        start = scheduled = loop.time()
        for i in itertools.count():
            scheduled += rng.expovariate(rate)
            if scheduled >= start + duration_s:
                break
            await asyncio.sleep(max(0.0, scheduled - loop.time()))
            case = traffic.pick(rng)
            if arrivals.qsize() >= MAX_OUTSTANDING:
                stats.not_sent += 1
                continue
            arrivals.put_nowait((case, f"{name}-{run_id}-{i}", scheduled))
        for _ in senders:
            arrivals.put_nowait(None)  # each sender ends after the arrivals queued before it
        await asyncio.gather(*senders)
    stats.duration_s = loop.time() - start
    return stats


async def measure_capacity(base: str, traffic: Traffic, cfg: Config) -> dict[str, Any]:
    """Closed-loop throughput per endpoint; with a /translate share, capacity for the mix (both share the CPU)."""
    runs = {}
    for path, cases in (("/hull", traffic.hull), ("/translate", traffic.translate)):
        if cases:
            result = await closed_loop(base + path, lambda i, cs=cases: cs[i % len(cs)].body, cfg.concurrency, cfg.capacity_s)
            runs[path] = result.to_row()
    hull_rps = runs["/hull"]["throughput_rps"]
    if "/translate" in runs:
        share = cfg.translate_share
        capacity = 1 / ((1 - share) / hull_rps + share / runs["/translate"]["throughput_rps"])
    else:
        capacity = hull_rps
    return {"capacity_rps": round(capacity, 1), "closed_loop": runs}


# ------------------------------------------------------------------------------------------------------ disconnects


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(c: httpx.AsyncClient, base: str) -> Samples:
    text = (await c.get(base + "/metrics")).text
    return {(s.name, frozenset(s.labels.items())): s.value for f in text_string_to_metric_families(text) for s in f.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples named `name` whose labels include `labels` (0 when none)."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


async def poll(c: httpx.AsyncClient, base: str, done: Callable[[Samples], bool], timeout_s: float) -> Samples:
    """Scrape /metrics until `done` holds (or the timeout passes); the last scrape."""
    deadline = time.monotonic() + timeout_s
    while not done(samples := await scrape(c, base)) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return samples


def circle_body(n: int, beam_size: int) -> dict[str, Any]:
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    points = np.stack([np.cos(angles), np.sin(angles)], 1).round(6).tolist()
    return {"points": points, "decoding": "beam", "beam_size": beam_size}


async def slow_body(c: httpx.AsyncClient, base: str, target_s: float) -> tuple[dict[str, Any], float]:
    """A /hull body that takes at least `target_s` alone (or the slowest of BLOCKER_BEAMS), and its time alone."""
    for beam in BLOCKER_BEAMS:
        body = circle_body(BLOCKER_POINTS, beam)
        t0 = time.monotonic()
        r = await c.post(base + "/hull", json=body)
        took = time.monotonic() - t0
        if r.status_code != 200:
            raise RuntimeError(f"slow request: {r.status_code} {r.text[:200]}")
        if took >= target_s:
            break
    return body, took


async def disconnect_phase(base: str, traffic: Traffic, cfg: Config) -> dict[str, Any]:
    """Queue `victims` requests behind one slow request, cancel them client-side, and read /metrics."""
    loop, n = asyncio.get_running_loop(), min(cfg.victims, cfg.max_queue)
    in_flight = "seq2serve_in_flight_requests"
    depth = "seq2serve_queue_depth"
    async with client(n + 8, cfg.client_timeout_s) as c:
        body, alone_s = await slow_body(c, base, cfg.blocker_s)
        before = await scrape(c, base)
        t0 = loop.time()
        blocker = asyncio.create_task(c.post(base + "/hull", json=body, headers={"X-Request-ID": "blocker"}))
        await poll(c, base, lambda m: value(m, in_flight, endpoint="/hull") >= 1, 10)
        await asyncio.sleep(0.1)  # parsed, queued and taken into a batch of its own (max_wait_ms is a few ms)
        victims = [
            asyncio.create_task(c.post(base + "/hull", json=traffic.hull[i % len(traffic.hull)].body,
                                       headers={"X-Request-ID": f"victim-{i}"}))
            for i in range(n)
        ]  # fmt: skip
        queued = await poll(c, base, lambda m: value(m, depth, model="hull") >= n, 10)
        for v in victims:
            v.cancel()  # httpx closes each connection: the server sees the client go away
        answered = sum(isinstance(r, httpx.Response) for r in await asyncio.gather(*victims, return_exceptions=True))
        cancelled_at = loop.time() - t0
        blocker_status = (await blocker).status_code
        blocker_s = loop.time() - t0

        def settled(m: Samples) -> bool:
            dropped = value(m, "seq2serve_dropped_requests_total", model="hull", reason="cancelled")
            dropped -= value(before, "seq2serve_dropped_requests_total", model="hull", reason="cancelled")
            return value(m, depth, model="hull") == 0 and value(m, in_flight, endpoint="/hull") == 0 and dropped >= n - answered

        after = await poll(c, base, settled, 10)

    def delta(name: str, **labels: str) -> int:
        return round(value(after, name, **labels) - value(before, name, **labels))

    return {
        "victims": n,
        "slow_request_alone_s": round(alone_s, 3),
        "slow_request_beam": body["beam_size"],
        "queued_when_cancelled": round(value(queued, depth, model="hull")),
        "cancelled_at_s": round(cancelled_at, 3),
        "slow_request_s": round(blocker_s, 3),
        "slow_request_status": blocker_status,
        "answered_before_cancel": answered,
        "computed": delta("seq2serve_batch_size_sum", model="hull"),  # the slow request is 1
        "victims_computed": delta("seq2serve_batch_size_sum", model="hull") - 1,
        "dropped_cancelled": delta("seq2serve_dropped_requests_total", model="hull", reason="cancelled"),
        "status_499": delta("seq2serve_requests_total", endpoint="/hull", status="499"),
        "conclusive": cancelled_at < blocker_s,  # cancelled while the slow request still held the batcher
    }


# ------------------------------------------------------------------------------------------------------- the run


async def run_all(cfg: Config, server: Server) -> dict[str, Any]:
    """Phases a-e against `server`; the report, with its checks."""
    base = server.url
    require_loopback(base)
    rss = RssMonitor(server.proc.pid, cfg.rss_every_s)
    sampler = asyncio.create_task(rss.run())
    traffic = make_traffic(cfg)
    phases: list[PhaseStats] = []
    disconnect = None
    try:
        rss.begin("capacity")
        capacity = await measure_capacity(base, traffic, cfg)
        rss.begin("warm-up")
        await learn_answers(base, traffic.cases())
        cap = capacity["capacity_rps"]
        plan = [("soak", cfg.soak_factor, cfg.soak_s), ("baseline", cfg.recovery_factor, cfg.recovery_s),
                ("overload", cfg.overload_factor, cfg.overload_s), ("recovery", cfg.recovery_factor, cfg.recovery_s)]  # fmt: skip
        for name, factor, seconds in plan:
            if seconds > 0:
                rss.begin(name)
                server_cpu, client_cpu = rss.cpu_s(), time.process_time()
                phases.append(stats := await open_phase(name, base, traffic, factor * cap, seconds, cfg))
                # Cores busy on average: when the client's approach 1, it (one Python thread) is the bottleneck.
                stats.server_cores = round((rss.cpu_s() - server_cpu) / stats.duration_s, 2)
                stats.client_cores = round((time.process_time() - client_cpu) / stats.duration_s, 2)
                rss.sample()
        if cfg.victims > 0:
            rss.begin("disconnect")
            disconnect = await disconnect_phase(base, traffic, cfg)
        rss.begin("end")
    finally:
        sampler.cancel()
    report: dict[str, Any] = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "capacity": capacity,
        "phases": [p.to_row() for p in phases],
        "rss": {name: rss.summary(name) for name in ("capacity", "warm-up", *(p.name for p in phases), "disconnect", "end")},
        "rss_samples": rss.samples,
        "disconnect": disconnect,
    }
    report["checks"] = evaluate(report, cfg)
    return report


def evaluate(report: dict[str, Any], cfg: Config) -> list[dict[str, Any]]:
    """The issue's acceptance checks, each with the numbers behind it."""
    phases = {p["name"]: p for p in report["phases"]}
    checks: list[dict[str, Any]] = []

    def check(name: str, ok: bool, detail: str) -> None:
        checks.append({"check": name, "ok": bool(ok), "detail": detail})

    total = {k: sum(p[k] for p in phases.values()) for k in ("errors", "lost", "id_mismatches", "foreign", "changed",
                                                               "missing_retry_after", "checked", "sent")}  # fmt: skip
    check("no errors but 503/504 shedding", total["errors"] == 0, f"{total['errors']} of {total['sent']} requests")
    check("no lost responses", total["lost"] == 0, f"{total['lost']} without a response")
    check("X-Request-ID matches on every response", total["id_mismatches"] == 0, f"{total['id_mismatches']} mismatches")
    check("every answer is for its own request", total["foreign"] == 0, f"{total['foreign']} of {total['checked']}")
    check("every answer equals the warm-up answer", total["changed"] == 0, f"{total['changed']} of {total['checked']}")
    check("every 503 has Retry-After", total["missing_retry_after"] == 0, f"{total['missing_retry_after']} without")
    if soak := report["rss"].get("soak"):
        trend = soak["trend_mib"]
        check("soak RSS flat", trend <= cfg.rss_tolerance_mib,
              f"{trend:+.1f} MiB, last quarter vs first (tolerance {cfg.rss_tolerance_mib})")  # fmt: skip
    if over := phases.get("overload"):
        check("overload sheds with 503", over["statuses"].get("503", 0) > 0, f"statuses {over['statuses']}")
        # Admitted requests waited at most the queue deadline, then one batch's compute: 2 s covers that and HTTP.
        bound_ms = (cfg.request_timeout_s + 2.0) * 1000
        p99 = over["service_p99_ms"]
        check("overload p99 of admitted bounded", p99 is not None and p99 <= bound_ms,
              f"service p99 {p99} ms, bound {bound_ms:.0f} ms")  # fmt: skip
    if rec := phases.get("recovery"):
        clean = rec["statuses"].get("200", 0) == rec["sent"]
        check("recovery without errors or shedding", clean, f"statuses {rec['statuses']}")
        if (base := phases.get("baseline")) and base["p99_ms"] and rec["p99_ms"]:
            limit = 2 * base["p99_ms"] + 50
            check("recovery p99 back to baseline", rec["p99_ms"] <= limit, f"{rec['p99_ms']} ms vs baseline {base['p99_ms']} ms")
    if d := report["disconnect"]:
        ok = d["conclusive"] and d["victims_computed"] == 0 and d["dropped_cancelled"] == d["victims"]
        check("cancelled requests not computed", ok, f"{d['victims']} cancelled, {d['victims_computed']} computed, "
              f"{d['dropped_cancelled']} dropped, conclusive={d['conclusive']}")  # fmt: skip
    return checks


# ---------------------------------------------------------------------------------------------------------- output


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("-" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    cap = report["capacity"]
    parts = [f"Capacity (closed loop, concurrency {report['config']['concurrency']}): **{cap['capacity_rps']} req/s**"]
    head = ["phase", "rate req/s", "s", "sent", "statuses", "errors", "lost", "checked", "id mismatches", "foreign",
            "changed", "503 w/o Retry-After", "ok req/s", "p50 ms", "p99 ms", "service p50 ms", "service p99 ms",
            "client lag p99 ms", "server cores", "client cores"]  # fmt: skip
    keys = ["name", "rate", "duration_s", "sent", "statuses", "errors", "lost", "checked", "id_mismatches", "foreign",
            "changed", "missing_retry_after", "ok_rps", "p50_ms", "p99_ms", "service_p50_ms", "service_p99_ms",
            "lag_p99_ms", "server_cores", "client_cores"]  # fmt: skip
    fmt = {"statuses": lambda s: ", ".join(f"{k}: {v}" for k, v in s.items())}
    rows = [[fmt.get(k, lambda v: v)(p[k]) for k in keys] for p in report["phases"]]
    parts.append(_table(head, rows))
    rss = [[name, s["start_mib"], s["end_mib"], s["max_mib"], f"{s['drift_mib']:+.1f}", f"{s['trend_mib']:+.1f}", s["samples"]]
           for name, s in report["rss"].items() if s]  # fmt: skip
    head = ["server RSS", "start MiB", "end MiB", "max MiB", "drift MiB", "trend MiB", "samples"]
    parts.append(_table(head, rss))
    if d := report["disconnect"]:
        keys = ["victims", "queued_when_cancelled", "cancelled_at_s", "slow_request_beam", "slow_request_s", "victims_computed",
                "dropped_cancelled", "status_499", "conclusive"]  # fmt: skip
        parts.append(_table(["disconnect: " + keys[0], *keys[1:]], [[d[k] for k in keys]]))
    parts.append(
        _table(["check", "ok", "detail"], [[c["check"], "yes" if c["ok"] else "**NO**", c["detail"]] for c in report["checks"]])
    )
    return "\n\n".join(parts) + "\n"


OPTIONS = {  # Config field -> help; the type and default come from Config
    "capacity_s": "closed-loop seconds that measure capacity",
    "soak_s": "soak seconds",
    "overload_s": "overload seconds",
    "recovery_s": "baseline and recovery seconds, each",
    "soak_factor": "soak rate, x capacity",
    "overload_factor": "overload rate, x capacity",
    "recovery_factor": "baseline and recovery rate, x capacity",
    "concurrency": "concurrency of the capacity closed loop",
    "pool": "bodies per endpoint",
    "decoding": "/hull decoding: greedy, beam or constrained",
    "beam_size": "/hull beam size",
    "translate_share": "share of requests to /translate (0: /hull only)",
    "max_queue": "server queue bound (SEQ2SERVE_<MODEL>__MAX_QUEUE)",
    "request_timeout_s": "server queue deadline (SEQ2SERVE_REQUEST_TIMEOUT_S)",
    "client_timeout_s": "a request without a response by then is lost",
    "victims": "requests cancelled client-side in phase e (0: skip it)",
    "blocker_s": "phase e's slow request takes at least this long",
    "rss_every_s": "RSS sampling period",
    "rss_tolerance_mib": "soak RSS growth allowed",
    "seed": "seed of bodies and arrival times",
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.reliability", description=__doc__.split("\n\n")[0])
    defaults = Config()
    for name, help_ in OPTIONS.items():
        default = getattr(defaults, name)
        p.add_argument("--" + name.replace("_", "-"), type=type(default), default=default, help=f"{help_} (default {default})")
    p.add_argument("--artifacts-dir", type=Path, help="exported models (SEQ2SERVE_ARTIFACTS_DIR; default build/models)")
    p.add_argument("--log-level", default=defaults.log_level, help="server log level (info: one access line per request)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra SEQ2SERVE_* setting; repeatable")
    p.add_argument("--out", type=Path, default=Path("build/reliability"), help="folder for result.json, result.md, server.log")
    return p


def config_from(args: argparse.Namespace) -> Config:
    fields = {k: v for k, v in vars(args).items() if k not in ("env", "out")}
    extra = dict(kv.split("=", 1) for kv in args.env)
    return Config(**fields, extra_env=extra)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if any("=" not in kv for kv in args.env):
        parser.error("--env takes KEY=VALUE")
    cfg = config_from(args)
    args.out.mkdir(parents=True, exist_ok=True)
    with running_server(server_env(cfg), args.out / "server.log") as server:
        report = asyncio.run(run_all(cfg, server))
    text = markdown(report)
    (args.out / "result.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "result.md").write_text(text)
    print(text)
    print(f"written: {args.out / 'result.json'}, {args.out / 'result.md'}, {args.out / 'server.log'}")
    return 0 if all(c["ok"] for c in report["checks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
