"""Step-level (iteration-level) batching for the attention decoders, after Orca and vLLM's scheduler.

Request-level batching (batcher.py) decodes a batch to its end, so a short request waits for the
longest one in its batch and new requests wait for the whole batch. Here every iteration:
1. admits the requests queued since the last step (up to `max_batch_size` active requests): one
   encoder call for all of them, each becoming a decoding (`models.beam.Decoding`, or
   `models.hull.search.HullDecoding` for the pointer network);
2. runs one decoder step for every live hypothesis of every active request (the handler's
   `step_batch()`: `models.beam.StepBatch` or `models.hull.search.HullStepBatch`);
3. answers the requests whose search finished, at once.
A request's result does not depend on what it was batched with (tested against unbatched decoding).

It keeps the batcher's contract: bounded queue (503), queue deadline (504), cancelled callers dropped
(also mid-decoding), failures confined to the requests involved, and draining on stop().
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from models.stepping import ActiveDecodings
from service.engine.batcher import BatchSettings, RequestQueue, _Pending
from service.errors import InferenceFailed, ServiceError, Unavailable
from service.metrics import Metrics

log = logging.getLogger("seq2serve")


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
    settings: BatchSettings  # max_batch_size = most active requests; max_wait_ms is not used
    metrics: Metrics | None = None
    _queue: asyncio.Queue[_Pending[I, O]] = field(init=False)
    _active: dict[int, tuple[_Pending[I, O], Decodable[O]]] = field(default_factory=dict, init=False)
    _batch: ActiveDecodings[Any] | None = field(default=None, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _closing: bool = field(default=False, init=False)
    _wake: asyncio.Event = field(init=False)
    _executor: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        if self.settings.max_batch_size < 1 or self.settings.max_queue < 1:
            raise ValueError(f"invalid batch settings for {self.name}: {self.settings}")
        self._queue = asyncio.Queue(self.settings.max_queue)
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"steps-{self.name}")

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"scheduler-{self.name}")

    @property
    def busy(self) -> bool:
        return bool(self._active)

    def _queued(self) -> None:
        self._wake.set()

    async def stop(self, drain_timeout_s: float = 30.0) -> None:
        """Refuse new work, finish active and queued requests (up to the timeout), then end the loop."""
        self._closing = True
        deadline = time.monotonic() + drain_timeout_s
        while (self._active or not self._queue.empty()) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        gone = Unavailable(f"model {self.name!r} shut down before this request finished")
        self._fail([p for p, _ in self._active.values()], gone)
        self._active.clear()
        while not self._queue.empty():
            self._fail([self._queue.get_nowait()], gone)
        self._executor.shutdown(wait=False)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._active and self._queue.empty():
                self._wake.clear()
                await self._wake.wait()
            try:
                await asyncio.shield(self._iteration(loop))
            except Exception:  # a bug here must not end the loop and leave every later caller hanging
                log.exception("scheduler %s: unexpected error", self.name)
                self._fail([p for p, _ in self._active.values()], InferenceFailed(f"model {self.name!r} failed"))
                self._active.clear()
                self._batch = None

    async def _iteration(self, loop: asyncio.AbstractEventLoop) -> None:
        new = self._take()
        if new:
            await self._admit(loop, new)
        self._drop_cancelled()
        if not self._active or self._batch is None:
            return
        started, rows = time.monotonic(), self._batch.rows
        try:
            finished = await loop.run_in_executor(self._executor, self._batch.step)
        except Exception:
            log.exception("decode step failed for model %s (%d requests)", self.name, len(self._active))
            self._fail(
                [p for p, _ in self._active.values()], InferenceFailed(f"model {self.name!r} failed to compute this request")
            )
            self._active.clear()
            self._batch = None
            return
        if self.metrics is not None:
            self.metrics.observe_step(self.name, rows, len(self._active), time.monotonic() - started)
        for d in finished:
            pending, _ = self._active.pop(id(d))
            if not pending.future.done():
                pending.future.set_result(d.result())

    def _take(self) -> list[_Pending[I, O]]:
        """Queued requests that fit (active + new <= max_batch_size), minus expired and cancelled ones."""
        room = self.settings.max_batch_size - len(self._active)
        taken: list[_Pending[I, O]] = []
        now = time.monotonic()
        while room > 0 and not self._queue.empty():
            p = self._queue.get_nowait()
            if p.future.done():  # cancelled by a caller that went away
                self._dropped("cancelled")
                continue
            if self._expired(p, now):
                continue
            taken.append(p)
            room -= 1
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
