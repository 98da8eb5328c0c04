"""Prometheus metrics, all defined here, on a registry of the app's own (so tests can build many apps).

Recording never raises into the request path: a metrics bug must not fail a request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest

log = logging.getLogger("seq2serve")
F = TypeVar("F", bound=Callable[..., Any])

# The *_created series double every label set for no use on a dashboard.
disable_created_metrics()

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


def _never_raise(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception:  # deliberately swallowed: see the module docstring
            log.exception("metrics: %s failed", fn.__name__)
            return None

    return wrapper  # type: ignore[return-value]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "seq2serve_requests", "HTTP requests by model, endpoint and status", ["model", "endpoint", "status"], registry=r
        )
        self.latency = Histogram(
            "seq2serve_request_latency_seconds",
            "End-to-end request latency",
            ["model", "endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_wait = Histogram(
            "seq2serve_queue_wait_seconds", "Time from enqueue to batch start", ["model"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.compute = Histogram(
            "seq2serve_compute_seconds", "Time to compute one batch", ["model"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.batch_size = Histogram(
            "seq2serve_batch_size", "Requests per formed batch", ["model"], buckets=BATCH_BUCKETS, registry=r
        )
        self.dropped = Counter(
            "seq2serve_dropped_requests",
            "Queued requests never computed: reason=cancelled (the caller went away), expired (queue deadline, 504)",
            ["model", "reason"],
            registry=r,
        )
        self.queue_depth = Gauge("seq2serve_queue_depth", "Requests waiting in the batch queue", ["model"], registry=r)
        self.in_flight = Gauge("seq2serve_in_flight_requests", "Requests being handled", ["endpoint"], registry=r)
        self.reading = Gauge(
            "seq2serve_reading_requests", "Requests whose body is still arriving (they hold no in-flight slot)", registry=r
        )
        # Step-level batching (service/engine/scheduler.py)
        self.active_sequences = Gauge(
            "seq2serve_active_sequences",
            "Live hypotheses in the last decoder step (all requests, all beams)",
            ["model"],
            registry=r,
        )
        self.active_requests = Gauge("seq2serve_active_requests", "Requests being decoded step by step", ["model"], registry=r)
        self.steps = Counter("seq2serve_decode_steps", "Decoder steps run by the step scheduler", ["model"], registry=r)
        self.tokens = Counter(
            "seq2serve_generated_tokens", "Tokens generated (one per live hypothesis per step)", ["model"], registry=r
        )
        self.step_items = Histogram(
            "seq2serve_step_items",
            "Items (texts, clips, images) decoded together in one decoder step",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.step_time = Histogram(
            "seq2serve_step_seconds",
            "Time of one decoder step over all active sequences",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    @_never_raise
    def observe_request(self, model: str, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(model, endpoint, str(status)).inc()
        self.latency.labels(model, endpoint).observe(seconds)

    @_never_raise
    def observe_batch(self, model: str, size: int, waits: list[float], compute_s: float) -> None:
        self.batch_size.labels(model).observe(size)
        self.compute.labels(model).observe(compute_s)
        for w in waits:
            self.queue_wait.labels(model).observe(w)

    @_never_raise
    def observe_dropped(self, model: str, reason: str) -> None:
        self.dropped.labels(model, reason).inc()

    @_never_raise
    def observe_step(self, model: str, rows: int, requests: int, seconds: float) -> None:
        self.active_sequences.labels(model).set(rows)
        self.active_requests.labels(model).set(requests)
        self.steps.labels(model).inc()
        self.step_items.labels(model).observe(requests)
        self.tokens.labels(model).inc(rows)
        self.step_time.labels(model).observe(seconds)

    @_never_raise
    def set_queue_depth(self, model: str, depth: int) -> None:
        self.queue_depth.labels(model).set(depth)

    @_never_raise
    def set_reading(self, n: int) -> None:
        self.reading.set(n)

    @_never_raise
    def add_in_flight(self, endpoint: str, delta: int) -> None:
        self.in_flight.labels(endpoint).inc(delta)

    def render(self) -> bytes:
        return generate_latest(self.registry)
