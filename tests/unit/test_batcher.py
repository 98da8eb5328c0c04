"""Dynamic batcher against a fake runtime: grouping, limits, deadlines, failures, shutdown."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from service.engine.batcher import Batcher, BatchSettings
from service.errors import DeadlineExceeded, InferenceFailed, InvalidInput, QueueFull, Unavailable
from service.metrics import Metrics
from tests.helpers import until


class FakeModel:
    """Doubles its inputs; records each batch; can be told to sleep or fail."""

    def __init__(self, delay_s: float = 0.0, fail_on: Callable[[list[int]], bool] | None = None) -> None:
        self.batches: list[list[int]] = []
        self.threads: set[str] = set()
        self.delay_s = delay_s
        self.fail_on = fail_on or (lambda _: False)

    def __call__(self, items: list[int]) -> list[int]:
        self.threads.add(threading.current_thread().name)
        self.batches.append(list(items))
        time.sleep(self.delay_s)
        if self.fail_on(items):
            raise RuntimeError("boom")
        return [2 * x for x in items]


async def started(model: Callable[[list[int]], list[int]], **kw: float) -> Batcher[int, int]:
    b: Batcher[int, int] = Batcher("fake", model, BatchSettings(**kw), Metrics())  # type: ignore[arg-type]
    b.start()
    return b


def dropped(b: Batcher[int, int], reason: str) -> float:
    """seq2serve_dropped_requests_total for this batcher and reason."""
    assert b.metrics is not None
    value = b.metrics.registry.get_sample_value("seq2serve_dropped_requests_total", {"model": b.name, "reason": reason})
    return value or 0.0


async def test_concurrent_requests_are_batched_and_answered_in_order() -> None:
    model = FakeModel(delay_s=0.01)
    b = await started(model, max_batch_size=8, max_wait_ms=20)
    out = await asyncio.gather(*(b.submit(i, 5) for i in range(20)))
    assert out == [2 * i for i in range(20)]
    assert max(len(x) for x in model.batches) == 8  # size-triggered flushes happened
    assert sum(len(x) for x in model.batches) == 20
    assert not any(t.startswith("MainThread") for t in model.threads)  # compute ran off the event loop
    await b.stop()


async def test_flush_on_wait_time_for_a_lone_request() -> None:
    b = await started(FakeModel(), max_batch_size=64, max_wait_ms=30)
    t0 = time.monotonic()
    assert await b.submit(3, 5) == 6
    assert 0.02 <= time.monotonic() - t0 < 1.0
    await b.stop()


async def test_event_loop_stays_responsive_during_compute() -> None:
    b = await started(FakeModel(delay_s=0.3), max_batch_size=1, max_wait_ms=0)
    task = asyncio.create_task(b.submit(1, 5))
    ticks = 0
    while not task.done():
        await asyncio.sleep(0.01)
        ticks += 1
    assert ticks >= 10  # the loop kept ticking while the fake model slept in its thread
    await b.stop()


async def test_full_queue_rejects_at_once_with_503() -> None:
    model = FakeModel(delay_s=0.2)
    b = await started(model, max_batch_size=1, max_wait_ms=0, max_queue=2)
    first = asyncio.create_task(b.submit(0, 5))
    await until(lambda: model.batches)  # the first request is now computing, out of the queue
    queued = [asyncio.create_task(b.submit(i, 5)) for i in (1, 2)]
    await asyncio.sleep(0)
    with pytest.raises(QueueFull) as info:
        await b.submit(3, 5)
    assert info.value.status == 503 and info.value.headers["Retry-After"]
    assert await asyncio.gather(first, *queued) == [0, 2, 4]
    await b.stop()


async def test_request_past_its_deadline_in_the_queue_gets_504_and_is_not_computed() -> None:
    model = FakeModel(delay_s=0.2)
    b = await started(model, max_batch_size=1, max_wait_ms=0)
    slow = asyncio.create_task(b.submit(0, 5))
    await until(lambda: model.batches)
    with pytest.raises(DeadlineExceeded):
        await b.submit(1, 0.05)  # waits ~0.2 s behind the first, deadline 0.05 s
    await slow
    assert [1] not in model.batches
    assert dropped(b, "expired") == 1
    await b.stop()


async def test_the_504_comes_at_the_deadline_not_when_the_batch_ahead_ends() -> None:
    model = FakeModel(delay_s=1.5)
    b = await started(model, max_batch_size=1, max_wait_ms=0)
    slow = asyncio.create_task(b.submit(0, 5))
    await until(lambda: model.batches)
    t0 = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        await b.submit(1, 0.1)
    assert time.monotonic() - t0 < 0.6  # the batch ahead of it still runs for ~1.4 s
    assert not slow.done()
    await slow
    assert [1] not in model.batches and dropped(b, "expired") == 1  # counted once, never computed
    await b.stop()


async def test_failing_batch_fails_only_its_own_requests() -> None:
    model = FakeModel(fail_on=lambda items: 13 in items)
    b = await started(model, max_batch_size=4, max_wait_ms=50)
    bad = await asyncio.gather(*(b.submit(i, 5) for i in (11, 12, 13)), return_exceptions=True)
    assert all(isinstance(e, InferenceFailed) for e in bad)
    assert "boom" not in str(bad[0])  # the cause is logged, not shown to callers
    assert await b.submit(5, 5) == 10  # the loop survived
    await b.stop()


async def test_service_errors_from_predict_pass_through() -> None:
    def reject(items: list[int]) -> list[int]:
        raise InvalidInput("no")

    b = await started(reject, max_batch_size=1, max_wait_ms=0)
    with pytest.raises(InvalidInput):
        await b.submit(1, 5)
    await b.stop()


async def test_wrong_number_of_outputs_fails_the_batch() -> None:
    b = await started(lambda items: items[:-1], max_batch_size=4, max_wait_ms=30)
    res = await asyncio.gather(*(b.submit(i, 5) for i in range(3)), return_exceptions=True)
    assert all(isinstance(e, InferenceFailed) for e in res)
    await b.stop()


async def test_cancelled_request_is_dropped_before_compute() -> None:
    model = FakeModel(delay_s=0.2)
    b = await started(model, max_batch_size=1, max_wait_ms=0)
    busy = asyncio.create_task(b.submit(0, 5))
    await until(lambda: model.batches)
    gone = asyncio.create_task(b.submit(99, 5))
    await until(lambda: b.depth == 1)
    gone.cancel()  # what the route sees when the client disconnects
    await busy
    assert await b.submit(1, 5) == 2
    assert [99] not in model.batches
    assert dropped(b, "cancelled") == 1 and dropped(b, "expired") == 0
    await b.stop()


async def test_stop_drains_queued_work_then_refuses_new_work() -> None:
    b = await started(FakeModel(delay_s=0.05), max_batch_size=2, max_wait_ms=0)
    pending = [asyncio.create_task(b.submit(i, 5)) for i in range(6)]
    await asyncio.sleep(0)
    await b.stop(drain_timeout_s=5)
    await asyncio.sleep(0.01)  # one loop turn for the waiting tasks to pick up their results
    assert [t.result() for t in pending] == [0, 2, 4, 6, 8, 10]
    with pytest.raises(Unavailable):
        await b.submit(1, 5)


async def test_stop_past_drain_timeout_fails_leftovers_instead_of_hanging() -> None:
    model = FakeModel(delay_s=0.3)
    b = await started(model, max_batch_size=1, max_wait_ms=0)
    pending = [asyncio.create_task(b.submit(i, 5)) for i in range(4)]
    await until(lambda: model.batches)
    await b.stop(drain_timeout_s=0.05)
    results = await asyncio.gather(*pending, return_exceptions=True)
    assert results[0] == 0  # the running batch finished
    assert any(isinstance(r, Unavailable) for r in results[1:])


def test_invalid_settings_are_rejected_at_construction() -> None:
    with pytest.raises(ValueError):
        Batcher("x", lambda items: items, BatchSettings(max_batch_size=0))
