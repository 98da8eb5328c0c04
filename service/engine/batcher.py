"""Dynamic batching: one future per request, flushed on size or wait time, computed off the event loop.

Invariants (each has a unit test):
- the queue is bounded: a full queue rejects at once with QueueFull (503 + Retry-After);
- a request whose deadline passed while queued gets DeadlineExceeded (504) and is not computed;
- a request whose caller went away (cancelled future) is dropped before compute;
- a batch must return exactly one output per input, else all its requests fail;
- a failing batch fails its own requests only; the loop carries on;
- stop() refuses new work, lets queued and running work finish (up to a drain timeout), then ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from service.errors import DeadlineExceeded, InferenceFailed, QueueFull, ServiceError, Unavailable
from service.metrics import Metrics

log = logging.getLogger("seq2serve")
I = TypeVar("I")  # noqa: E741 - item type
O = TypeVar("O")  # noqa: E741 - output type


@dataclass
class _Pending(Generic[I, O]):
    item: I
    future: asyncio.Future[O]
    enqueued: float  # time.monotonic()
    deadline: float


@dataclass
class BatchSettings:
    max_batch_size: int = 32
    max_wait_ms: float = 5.0
    max_queue: int = 256


class RequestQueue(Generic[I, O]):
    """What the request-level batcher and the step scheduler (scheduler.py) share: a bounded queue of
    pending requests, each with a deadline and a future, and how requests are refused, expired or failed.
    Subclasses set name, settings, metrics, _queue and _closing."""

    name: str
    settings: BatchSettings
    metrics: Metrics | None
    _queue: asyncio.Queue[_Pending[I, O]]
    _closing: bool

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    async def submit(self, item: I, timeout_s: float) -> O:
        """Queue one item and wait for its output."""
        if self._closing:
            raise Unavailable(f"model {self.name!r} is shutting down", retry_after_s=5)
        now = time.monotonic()
        pending: _Pending[I, O] = _Pending(item, asyncio.get_running_loop().create_future(), now, now + timeout_s)
        try:
            self._queue.put_nowait(pending)
        except asyncio.QueueFull:
            raise QueueFull(f"model {self.name!r} queue is full ({self.settings.max_queue} requests); retry later") from None
        self._queued()
        self._report_depth()
        # If the caller is cancelled (client gone), the future is cancelled too and skipped by the loop.
        return await pending.future

    def _queued(self) -> None:
        """Called after each submit: a loop that sleeps while idle wakes up here."""

    def _expired(self, p: _Pending[I, O], now: float) -> bool:
        """A request past its queue deadline gets DeadlineExceeded (504) and must not be computed."""
        if now <= p.deadline:
            return False
        waited = p.deadline - p.enqueued
        p.future.set_exception(DeadlineExceeded(f"request waited past its {waited:.1f}s deadline in the queue"))
        self._dropped("expired")
        return True

    def _dropped(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.observe_dropped(self.name, reason)

    @staticmethod
    def _fail(pendings: list[_Pending[Any, Any]], exc: Exception) -> None:
        for p in pendings:
            if not p.future.done():
                p.future.set_exception(exc)

    def _report_depth(self) -> None:
        if self.metrics is not None:
            self.metrics.set_queue_depth(self.name, self._queue.qsize())


@dataclass
class Batcher(RequestQueue[I, O]):
    name: str
    predict: Callable[[list[I]], Sequence[O]]  # blocking; runs in this batcher's own worker thread
    settings: BatchSettings
    metrics: Metrics | None = None
    _queue: asyncio.Queue[_Pending[I, O]] = field(init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _closing: bool = field(default=False, init=False)
    _busy: bool = field(default=False, init=False)  # a batch is forming or computing
    _executor: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        if self.settings.max_batch_size < 1 or self.settings.max_queue < 1 or self.settings.max_wait_ms < 0:
            raise ValueError(f"invalid batch settings for {self.name}: {self.settings}")
        self._queue = asyncio.Queue(self.settings.max_queue)
        # One thread: batches of one model run one at a time, each using the runtime's own threads.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"batch-{self.name}")

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"batcher-{self.name}")

    @property
    def busy(self) -> bool:
        """A batch is forming or computing."""
        return self._busy

    async def stop(self, drain_timeout_s: float = 30.0) -> None:
        """Refuse new work, finish what is queued or running (up to the timeout), then end the loop."""
        self._closing = True
        deadline = time.monotonic() + drain_timeout_s
        while (self._busy or not self._queue.empty()) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        if self._task is not None:
            self._task.cancel()  # idle now, or past the drain timeout
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while not self._queue.empty():  # past the drain timeout: fail, never leave a caller hanging
            self._fail([self._queue.get_nowait()], Unavailable(f"model {self.name!r} shut down before this request ran"))
        self._executor.shutdown(wait=False)

    async def _loop(self) -> None:
        while True:
            batch = await self._collect()
            try:
                live = self._admit(batch)
                if live:
                    # Shielded: a batch already computing finishes and its callers get their answers.
                    await asyncio.shield(self._run(live))
            except Exception:  # a bug here must not end the loop and leave every later caller hanging
                log.exception("batcher %s: unexpected error", self.name)
                self._fail(batch, InferenceFailed(f"model {self.name!r} failed to compute this request"))
            finally:
                self._busy = False

    async def _collect(self) -> list[_Pending[I, O]]:
        first = await self._queue.get()
        self._busy = True
        batch = [first]
        try:
            await self._fill(batch)
        except asyncio.CancelledError:  # shutdown past its drain timeout while a batch was forming
            self._fail(batch, Unavailable(f"model {self.name!r} shut down before this request ran"))
            raise
        self._report_depth()
        return batch

    async def _fill(self, batch: list[_Pending[I, O]]) -> None:
        flush_at = time.monotonic() + self.settings.max_wait_ms / 1000
        while len(batch) < self.settings.max_batch_size:
            remaining = flush_at - time.monotonic()
            if remaining <= 0:
                # Take what is already queued without waiting: no reason to leave it for the next batch.
                while len(batch) < self.settings.max_batch_size and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                return
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                return

    def _admit(self, batch: list[_Pending[I, O]]) -> list[_Pending[I, O]]:
        now, live = time.monotonic(), []
        for p in batch:
            if p.future.done():  # cancelled by a caller that went away
                self._dropped("cancelled")
                continue
            if self._expired(p, now):
                continue
            live.append(p)
        return live

    async def _run(self, live: list[_Pending[I, O]]) -> None:
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        try:
            outputs = await loop.run_in_executor(self._executor, self.predict, [p.item for p in live])
            if len(outputs) != len(live):
                raise RuntimeError(f"{self.name}: batch of {len(live)} returned {len(outputs)} outputs")
        except ServiceError as exc:  # a deliberate per-batch error (e.g. input the model rejects)
            self._fail(live, exc)
            return
        except Exception:
            log.exception("batch of %d failed for model %s", len(live), self.name)
            self._fail(live, InferenceFailed(f"model {self.name!r} failed to compute this request"))
            return
        finally:
            if self.metrics is not None:
                self.metrics.observe_batch(self.name, len(live), [started - p.enqueued for p in live], time.monotonic() - started)
        for p, out in zip(live, outputs, strict=True):
            if not p.future.done():
                p.future.set_result(out)
