"""worker=process (service/engine/worker.py): the same answers as in-process predict; a dead worker fails
only its batch and is replaced."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import numpy as np

from service.app import create_app
from tests.integration.conftest import make_settings, running_client

RNG = np.random.default_rng(11)
BODIES = [{"points": RNG.random((n, 2)).tolist(), "decoding": "beam", "beam_size": 3} for n in (5, 17, 30)]
TEXTS = ["ein mann fährt fahrrad .", "zwei hunde spielen im park ."]


async def answers(worker: str, artifacts_dir: Path) -> list[object]:
    settings = make_settings(artifacts_dir, worker=worker, translate={"enabled": True, "worker": worker})
    async for c in running_client(create_app(settings)):
        hulls = await asyncio.gather(*(c.post("/hull", json=b) for b in BODIES))
        translations = await asyncio.gather(*(c.post("/translate", json={"text": t, "beam_size": 3}) for t in TEXTS))
        assert all(r.status_code == 200 for r in [*hulls, *translations])
        return [r.json()["hull"] for r in hulls] + [r.json()["results"][0]["translations"][0]["text"] for r in translations]
    raise AssertionError("unreachable")


async def test_a_worker_process_answers_like_the_in_process_predict(artifacts_dir: Path) -> None:
    assert await answers("process", artifacts_dir) == await answers("thread", artifacts_dir)


async def test_a_dead_worker_fails_its_batch_and_is_replaced(artifacts_dir: Path) -> None:
    app = create_app(make_settings(artifacts_dir, worker="process"))
    async for c in running_client(app):
        worker = app.state.registry.models["hull"].worker
        (pid,) = worker._pool._processes  # the pool does not expose its process otherwise
        os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.2)
        failed = await c.post("/hull", json=BODIES[0])
        assert failed.status_code == 500 and failed.json()["error"]["code"] == "inference_failed"
        again = await c.post("/hull", json=BODIES[0])
        assert again.status_code == 200, again.text
