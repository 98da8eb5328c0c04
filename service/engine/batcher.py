"""Dynamic batching: one future per request, flushed on size or wait time, computed off the event loop.

Invariants (each has a unit test):
- the queue is bounded: a full queue rejects at once with QueueFull (503 + Retry-After);
- a request still queued at its deadline gets DeadlineExceeded (504) then, and is never computed;
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
from abc import abstractmethod
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
    group: object = None  # the request it came with (its texts, clips or images are items of one group)
    rows: int = 1  # hypothesis rows it needs at once (its beam): what the step scheduler's budget counts
    started: bool = False  # taken for compute: its queue deadline no longer applies


@dataclass
class BatchSettings:
    max_batch_size: int = 32  # request batching: most items per batch
    max_wait_ms: float = 5.0  # request batching: how long a batch waits to fill
    max_queue: int = 256  # items waiting, at most
    max_step_rows: int = 256  # step batching: hypothesis rows (beams of active items) per decoder step
    max_request_share: float = 0.5  # step batching: the part of max_step_rows one request's items may hold


class RequestQueue(Generic[I, O]):
    """What the request-level batcher and the step scheduler (scheduler.py) share: a bounded queue of
    pending items, each with a deadline and a future, and how items are refused, expired or failed.
    Subclasses set name, settings, metrics and _closing, and say how an item waits (`_put`, `_forget`)."""

    name: str
    settings: BatchSettings
    metrics: Metrics | None
    _closing: bool

    @property
    @abstractmethod
    def depth(self) -> int:
        """Items waiting to be taken."""

    @abstractmethod
    def _put(self, pending: _Pending[I, O]) -> None:
        """Queue it, or raise QueueFull."""

    def _queue_full(self) -> QueueFull:
        return QueueFull(f"model {self.name!r} queue is full ({self.settings.max_queue} requests); retry later")

    def _forget(self, pending: _Pending[I, O]) -> None:
        """A waiting item that expired: drop it now if the queue allows, else when it is taken."""

    async def submit(self, item: I, timeout_s: float, group: object = None, rows: int = 1) -> O:
        """Queue one item and wait for its output. `group`: the request it belongs to; `rows`: the
        hypothesis rows it needs at once."""
        if self._closing:
            raise Unavailable(f"model {self.name!r} is shutting down", retry_after_s=5)
        now = time.monotonic()
        loop = asyncio.get_running_loop()
        pending: _Pending[I, O] = _Pending(item, loop.create_future(), now, now + timeout_s, group, rows)
        self._put(pending)
        # The deadline is kept while it waits, not checked only when it leaves the queue: a long batch or
        # a busy scheduler cannot make a waiting caller's 504 late.
        timer = loop.call_later(timeout_s, self._on_deadline, pending)
        pending.future.add_done_callback(lambda _: timer.cancel())
        self._queued()
        self._report_depth()
        # If the caller is cancelled (client gone), the future is cancelled too and skipped when taken.
        return await pending.future

    def _queued(self) -> None:
        """Called after each submit: a loop that sleeps while idle wakes up here."""

    def _on_deadline(self, p: _Pending[I, O]) -> None:
        """Still waiting at its deadline: DeadlineExceeded (504) now, and it is never computed."""
        if p.started or p.future.done():
            return
        waited = p.deadline - p.enqueued
        p.future.set_exception(DeadlineExceeded(f"request waited past its {waited:.1f}s deadline in the queue"))
        self._dropped("expired")
        self._forget(p)
        self._report_depth()

    def _skip(self, p: _Pending[I, O]) -> bool:
        """Taken from the queue but not to be computed: its caller went away, or it expired (already answered)."""
        if not p.future.done():
            return False
        if p.future.cancelled():
            self._dropped("cancelled")
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
            self.metrics.set_queue_depth(self.name, self.depth)


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
    def depth(self) -> int:
        return self._queue.qsize()

    def _put(self, pending: _Pending[I, O]) -> None:
        try:
            self._queue.put_nowait(pending)
        except asyncio.QueueFull:
            raise self._queue_full() from None

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
        live = [p for p in batch if not self._skip(p)]
        for p in live:
            p.started = True
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
