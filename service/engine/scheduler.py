"""Step-level (iteration-level) batching for the attention decoders, after Orca and vLLM's scheduler.

Request-level batching (batcher.py) decodes a batch to its end, so a short request waits for the
longest one in its batch and new requests wait for the whole batch. Here every iteration:
1. admits waiting items (a request's texts, clips or images are items of one group) while the step's
   budget of hypothesis rows allows (`max_step_rows`; an item reserves its beam's rows), the oldest
   request first and one item per request per round (round robin), and no request holding more than
   `max_request_share` of the budget, so one large request cannot shut the others out; one encoder call
   for all admitted items, each becoming a decoding (`models.beam.Decoding`, or
   `models.hull.search.HullDecoding` for the pointer network);
2. runs one decoder step for every live hypothesis of every active item (the handler's `step_batch()`:
   `models.beam.StepBatch` or `models.hull.search.HullStepBatch`);
3. answers the items whose search finished, at once.
An item's result does not depend on what it was batched with (tested against unbatched decoding).

It keeps the batcher's contract: bounded queue (503), queue deadline (504 at the deadline), cancelled
callers dropped (also mid-decoding), failures confined to the items involved, and draining on stop().
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from models.stepping import ActiveDecodings
from service.engine.batcher import BatchSettings, RequestQueue, _Pending
from service.errors import InferenceFailed, ServiceError, Unavailable
from service.metrics import Metrics

log = logging.getLogger("seq2serve")
MAX_STEPS_PER_CALL = 8  # decoder steps per trip to the worker thread while nothing new waits


I = TypeVar("I")  # noqa: E741 - item type
O = TypeVar("O", covariant=True)  # noqa: E741 - output type


class Decodable(Protocol[O]):
    """One request's search in progress."""

    @property
    def finished(self) -> bool: ...

    def result(self) -> O:
        """What the handler's predict returns for this item."""
        ...


@runtime_checkable
class Steppable(Protocol[I, O]):
    """What this scheduler steps: a handler that encodes items into decodings and advances them together
    (models.beam.StepBatch for the beam-search decoders, models.hull.search.HullStepBatch for the pointer
    network). The registry offers batching=step to the handlers that have these two methods."""

    def start_decodings(self, items: list[I]) -> Sequence[Decodable[O]]:
        """Encode a batch of items: one decoding per item."""
        ...

    def step_batch(self) -> ActiveDecodings[Any]:
        """An empty batch the scheduler adds decodings to."""
        ...


@dataclass
class StepScheduler(RequestQueue[I, O]):
    name: str
    handler: Steppable[I, O]
    settings: BatchSettings  # max_step_rows, max_request_share, max_queue (max_batch_size and max_wait_ms: unused)
    metrics: Metrics | None = None
    _waiting: OrderedDict[object, deque[_Pending[I, O]]] = field(
        default_factory=OrderedDict, init=False
    )  # by request, oldest first
    _active: dict[int, tuple[_Pending[I, O], Decodable[O]]] = field(default_factory=dict, init=False)
    _batch: ActiveDecodings[Any] | None = field(default=None, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _closing: bool = field(default=False, init=False)
    _in_iteration: bool = field(default=False, init=False)  # taken items may be between the queue and _active
    _wake: asyncio.Event = field(init=False)
    _executor: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        if s.max_step_rows < 1 or s.max_queue < 1 or not 0 < s.max_request_share <= 1:
            raise ValueError(f"invalid batch settings for {self.name}: {s}")
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"steps-{self.name}")

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"scheduler-{self.name}")

    @property
    def busy(self) -> bool:
        return bool(self._active)

    @property
    def depth(self) -> int:
        return sum(len(queue) for queue in self._waiting.values())

    def held(self) -> dict[object, int]:
        """Rows reserved by each request's active items (each its beam): what the step budget is spent on."""
        rows: dict[object, int] = {}
        for p, _ in self._active.values():
            rows[p.group] = rows.get(p.group, 0) + p.rows
        return rows

    def _put(self, pending: _Pending[I, O]) -> None:
        if self.depth >= self.settings.max_queue:
            raise self._queue_full()
        self._waiting.setdefault(pending.group, deque()).append(pending)

    def _forget(self, pending: _Pending[I, O]) -> None:
        queue = self._waiting.get(pending.group)
        if queue is not None and pending in queue:
            queue.remove(pending)
            if not queue:
                del self._waiting[pending.group]

    def _queued(self) -> None:
        self._wake.set()

    async def stop(self, drain_timeout_s: float = 30.0) -> None:
        """Refuse new work, finish active and queued requests (up to the timeout), then end the loop."""
        self._closing = True
        deadline = time.monotonic() + drain_timeout_s
        while (self._active or self._waiting or self._in_iteration) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        gone = Unavailable(f"model {self.name!r} shut down before this request finished")
        self._fail_active(gone)
        self._fail([p for queue in self._waiting.values() for p in queue], gone)
        self._waiting.clear()
        self._executor.shutdown(wait=False)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._active and not self._waiting:
                self._wake.clear()
                await self._wake.wait()
            try:
                await asyncio.shield(self._iteration(loop))
            except Exception:  # a bug here must not end the loop and leave every later caller hanging
                log.exception("scheduler %s: unexpected error", self.name)
                self._fail_active(InferenceFailed(f"model {self.name!r} failed"))

    async def _iteration(self, loop: asyncio.AbstractEventLoop) -> None:
        self._in_iteration = True
        try:
            await self._admit_and_step(loop)
        finally:
            self._in_iteration = False

    async def _admit_and_step(self, loop: asyncio.AbstractEventLoop) -> None:
        new = self._take()
        if new:
            await self._admit(loop, new)
        self._drop_cancelled()
        if not self._active or self._batch is None:
            return
        try:
            finished = await loop.run_in_executor(self._executor, self._steps, self._batch, len(self._active))
        except Exception:
            log.exception("decode step failed for model %s (%d requests)", self.name, len(self._active))
            self._fail_active(InferenceFailed(f"model {self.name!r} failed to compute this request"))
            return
        for d in finished:
            pending, _ = self._active.pop(id(d))
            if not pending.future.done():
                pending.future.set_result(d.result())

    def _steps(self, batch: ActiveDecodings[Any], items: int) -> list[Any]:
        """Decoder steps, in the worker thread, until a decoding finishes, an item waits to be admitted, or
        MAX_STEPS_PER_CALL: fewer round trips through the event loop, which serves HTTP on the same cores,
        while a new item still waits at most that many steps."""
        for _ in range(MAX_STEPS_PER_CALL):
            started, rows = time.monotonic(), batch.rows
            finished = batch.step()
            if self.metrics is not None:
                self.metrics.observe_step(self.name, rows, items, time.monotonic() - started)
            items -= len(finished)
            if finished or self._waiting or not batch.active:
                break
        return finished

    def _fail_active(self, exc: Exception) -> None:
        self._fail([p for p, _ in self._active.values()], exc)
        self._active.clear()
        self._batch = None

    def _take(self) -> list[_Pending[I, O]]:
        """Waiting items that fit this step's row budget: round robin over requests, oldest first, one item
        per request per round; a request holds at most its share of the budget (but may always have one
        item in flight). Cancelled items are dropped here; expired ones were answered at their deadline."""
        held = self.held()  # taken items are all active by now: _admit ran before this iteration
        budget = self.settings.max_step_rows - sum(held.values())
        share = self.settings.max_step_rows * self.settings.max_request_share
        taken: list[_Pending[I, O]] = []
        progress = True
        while progress and self._waiting:
            progress = False
            for group in list(self._waiting):
                queue = self._waiting[group]
                while queue and self._skip(queue[0]):  # dropped by its caller, or already answered
                    queue.popleft()
                if queue:
                    holds, p = held.get(group, 0), queue[0]
                    if p.rows <= budget and (holds == 0 or holds + p.rows <= share):
                        queue.popleft()
                        p.started = True
                        held[group] = holds + p.rows
                        budget -= p.rows
                        taken.append(p)
                        progress = True
                if not queue:
                    del self._waiting[group]
        self._report_depth()
        return taken

    async def _admit(self, loop: asyncio.AbstractEventLoop, new: list[_Pending[I, O]]) -> None:
        started = time.monotonic()
        try:
            decodings = await loop.run_in_executor(self._executor, self.handler.start_decodings, [p.item for p in new])
            if len(decodings) != len(new):
                raise RuntimeError(f"{self.name}: {len(new)} items gave {len(decodings)} decodings")
        except ServiceError as exc:
            self._fail(new, exc)
            return
        except Exception:
            log.exception("encoding %d requests failed for model %s", len(new), self.name)
            self._fail(new, InferenceFailed(f"model {self.name!r} failed to compute this request"))
            return
        if self.metrics is not None:
            self.metrics.observe_batch(self.name, len(new), [started - p.enqueued for p in new], time.monotonic() - started)
        if self._batch is None:
            self._batch = self.handler.step_batch()
        self._batch.add(decodings)
        for p, d in zip(new, decodings, strict=True):
            if d.finished:  # nothing to decode (cannot happen with max_length >= 1, but never hang a caller)
                p.future.set_result(d.result())
            else:
                self._active[id(d)] = (p, d)

    def _drop_cancelled(self) -> None:
        """Callers that went away free their rows before the next step."""
        for key, (p, d) in list(self._active.items()):
            if p.future.done():
                self._dropped("cancelled")
                del self._active[key]
                if self._batch is not None:
                    self._batch.remove(d)
