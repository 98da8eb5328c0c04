"""The step scheduler's contract, on a fake decoder whose request k takes exactly k steps."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from models.beam import Decoding, Encoded, SearchQuery, StepBatch, start_decodings
from models.tokens import EOS_ID
from service.engine.batcher import BatchSettings
from service.engine.scheduler import StepScheduler
from service.errors import DeadlineExceeded, QueueFull, Unavailable
from service.metrics import Metrics
from tests.helpers import until

VOCAB = 6


class CountdownGraph:
    """h[:, 0] counts the steps left: the decoder emits word 4 until it reaches 1, then </s>."""

    def __init__(self) -> None:
        self.steps = 0
        self.gate = threading.Event()
        self.gate.set()

    def step(self, y: np.ndarray, h: np.ndarray, ctx: np.ndarray, *rest: np.ndarray) -> list[np.ndarray]:
        self.gate.wait(5)
        self.steps += 1
        logp = np.full((len(y), VOCAB), -10.0, dtype=np.float32)
        logp[:, 4] = np.where(h[:, 0] > 1, -0.1, -5.0)
        logp[:, EOS_ID] = np.where(h[:, 0] > 1, -5.0, -0.1)
        attn = np.ones((len(y), rest[0].shape[1]), dtype=np.float32) / rest[0].shape[1]
        return [logp, attn, np.ones(len(y), np.float32), h - 1, ctx]


class FakeHandler:
    def __init__(self) -> None:
        self.graph = CountdownGraph()

    def step_batch(self) -> StepBatch:
        return StepBatch(self.graph, VOCAB)

    def start_decodings(self, items: list[int]) -> list[Decoding]:
        b = len(items)
        h0 = np.array([[k, 0.0] for k in items], dtype=np.float32)
        enc = Encoded(np.zeros((b, 3, 2), np.float32), np.zeros((b, 3, 2), np.float32), h0, np.full(b, 3))
        return start_decodings(enc, [SearchQuery(beam_size=1, max_length=50) for _ in items])


def scheduler(max_rows: int = 8, max_queue: int = 16, share: float = 1.0) -> tuple[StepScheduler, FakeHandler]:
    handler = FakeHandler()
    settings = BatchSettings(max_queue=max_queue, max_step_rows=max_rows, max_request_share=share)
    s = StepScheduler("fake", handler, settings, Metrics())
    s.start()
    return s, handler


async def test_a_short_request_admitted_later_finishes_before_a_long_one() -> None:
    s, _ = scheduler()
    order: list[int] = []

    async def run(k: int) -> None:
        hyps = await s.submit(k, timeout_s=5)
        assert len(hyps[0].ids) == k - 1 and hyps[0].finished
        order.append(k)

    s_handler = s.handler
    s_handler.graph.gate.clear()  # the long request's first step waits, so it is surely running first
    long = asyncio.create_task(run(30))
    await until(lambda: s.busy)
    short = asyncio.create_task(run(3))
    await until(lambda: s.depth == 1)
    s_handler.graph.gate.set()
    await asyncio.gather(short, long)
    assert order == [3, 30]
    await s.stop()


async def test_full_queue_is_refused_and_stop_drains() -> None:
    s, handler = scheduler(max_rows=1, max_queue=2)
    handler.graph.gate.clear()  # hold the first step: one request active, the next two queue up
    first = asyncio.create_task(s.submit(5, timeout_s=5))
    await until(lambda: handler.graph.steps == 0 and s.busy)
    queued = [asyncio.create_task(s.submit(2, timeout_s=5)) for _ in range(2)]
    await until(lambda: s.depth == 2)
    with pytest.raises(QueueFull):
        await s.submit(2, timeout_s=5)
    handler.graph.gate.set()
    await s.stop(drain_timeout_s=5)  # finishes the active request and the queued ones
    assert all(len(h[0].ids) >= 1 for h in await asyncio.gather(first, *queued))
    with pytest.raises(Unavailable):
        await s.submit(2, timeout_s=5)


async def test_a_cancelled_caller_frees_its_rows_mid_decoding() -> None:
    s, handler = scheduler()
    task = asyncio.create_task(s.submit(40, timeout_s=5))
    await until(lambda: handler.graph.steps >= 3)
    task.cancel()
    await until(lambda: not s.busy)
    steps = handler.graph.steps
    await asyncio.sleep(0.05)
    assert handler.graph.steps == steps < 40  # no more steps for a request nobody waits for
    await s.stop()


def dropped(s: StepScheduler, reason: str) -> float:
    assert s.metrics is not None
    value = s.metrics.registry.get_sample_value("seq2serve_dropped_requests_total", {"model": s.name, "reason": reason})
    return value or 0.0


async def test_a_large_request_cannot_shut_small_ones_out() -> None:
    """A request of 8 long items (4 rows each) and, after it, small requests: the large one holds at most
    half the 16-row budget, so each small one is admitted at the next step and answered long before it."""
    s, handler = scheduler(max_rows=16, share=0.5)
    large, held = object(), []
    big = [asyncio.create_task(s.submit(40, 10, large, rows=4)) for _ in range(8)]
    await until(lambda: handler.graph.steps >= 2)
    smalls = []
    for k in range(3):
        smalls.append(asyncio.create_task(s.submit(3, 10, object(), rows=4)))
        while not smalls[-1].done():
            held.append(s.held().get(large, 0))
            await asyncio.sleep(0.001)
        assert not any(t.done() for t in big), f"small request {k} waited for the large one"
    await asyncio.gather(*big)
    assert max(held) <= 8  # never more than its share
    await s.stop()


async def test_items_of_requests_are_admitted_round_robin_oldest_first() -> None:
    s, handler = scheduler(max_rows=2)
    handler.graph.gate.clear()  # hold the first step while both requests queue up
    a, b = object(), object()
    first = [asyncio.create_task(s.submit(3, 5, a)) for _ in range(3)]
    await until(lambda: s.busy)
    second = [asyncio.create_task(s.submit(3, 5, b)) for _ in range(2)]
    await until(lambda: s.depth == 3)  # a's first two items fill the 2-row budget
    finished: list[str] = []
    for name, tasks in (("a", first), ("b", second)):
        for t in tasks:
            t.add_done_callback(lambda _, n=name: finished.append(n))
    handler.graph.gate.set()
    await asyncio.gather(*first, *second)
    # a's first two items ran first (both admitted at once); then one item of each request in turn.
    assert finished[:2] == ["a", "a"] and sorted(finished[2:4]) == ["a", "b"] and finished[4] == "b"
    await s.stop()


async def test_a_waiting_item_gets_504_at_its_deadline() -> None:
    s, handler = scheduler(max_rows=1)
    handler.graph.gate.clear()
    first = asyncio.create_task(s.submit(5, 5))
    await until(lambda: s.busy)
    t0 = asyncio.get_running_loop().time()
    with pytest.raises(DeadlineExceeded):
        await s.submit(3, 0.1)
    assert asyncio.get_running_loop().time() - t0 < 0.5  # the active item is still held at its first step
    assert s.depth == 0 and dropped(s, "expired") == 1
    handler.graph.gate.set()
    await first
    await s.stop()


async def test_a_cancelled_waiting_item_is_never_decoded() -> None:
    s, handler = scheduler(max_rows=1)
    handler.graph.gate.clear()
    first = asyncio.create_task(s.submit(5, 5))
    await until(lambda: s.busy)
    waiting = asyncio.create_task(s.submit(30, 5))
    await until(lambda: s.depth == 1)
    waiting.cancel()
    handler.graph.gate.set()
    await first
    await until(lambda: not s.busy)
    assert handler.graph.steps < 30 and dropped(s, "cancelled") == 1
    await s.stop()
