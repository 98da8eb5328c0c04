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
from service.errors import QueueFull, Unavailable
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


def scheduler(max_active: int = 8, max_queue: int = 16) -> tuple[StepScheduler, FakeHandler]:
    handler = FakeHandler()
    s = StepScheduler("fake", handler, BatchSettings(max_batch_size=max_active, max_queue=max_queue))
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
    s, handler = scheduler(max_active=1, max_queue=2)
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
