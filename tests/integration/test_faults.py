"""Faults (issue 9): a model whose runtime raises fails only its own requests, in both batching modes; a
model that fails to load leaves the others serving and /readyz says which; error bodies carry no internals."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from service.app import create_app
from tests.helpers import until
from tests.integration.conftest import make_settings, running_client

SQUARE = [[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]]
SECRET = "/secret/path/weights.onnx: CUDA out of memory"  # what must not reach a client


def exploding(*_: Any, **__: Any) -> list[np.ndarray]:
    raise RuntimeError(SECRET)


@pytest.mark.parametrize("batching", ["request", "step"])
async def test_a_runtime_that_raises_fails_only_its_own_requests(artifacts_dir: Path, batching: str) -> None:
    settings = make_settings(artifacts_dir, translate={"enabled": True, "batching": batching}, sentiment={"enabled": True})
    app = create_app(settings)
    async for c in running_client(app):
        runtime = app.state.registry.models["translate"].handler.runtime
        real = runtime.run
        runtime.run = exploding
        broken, hull, sentiment = await asyncio.gather(
            c.post("/translate", json={"text": ["ein Hund", "zwei Katzen"]}),
            c.post("/hull", json={"points": SQUARE}),
            c.post("/sentiment", json={"text": "a good film"}),
        )
        assert broken.status_code == 500, broken.text
        assert broken.json()["error"]["code"] == "inference_failed"
        for leak in (SECRET, "Traceback", "RuntimeError", 'File "'):
            assert leak not in broken.text
        assert hull.status_code == 200 and sentiment.status_code == 200
        assert (await c.get("/readyz")).status_code == 200  # a failing request is not a failed model
        runtime.run = real  # the fault clears: the same model answers again, nothing stuck in its queue
        again = await c.post("/translate", json={"text": "ein Hund"})
        assert again.status_code == 200, again.text


async def test_a_model_that_fails_to_load_leaves_the_others_serving(artifacts_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(artifacts_dir / "hull", tmp_path / "hull")
    shutil.copytree(artifacts_dir / "sentiment", tmp_path / "sentiment")
    (tmp_path / "translate").mkdir()
    (tmp_path / "translate" / "meta.json").write_text("{ not json")  # a broken export
    settings = make_settings(tmp_path, translate={"enabled": True}, sentiment={"enabled": True})
    async for c in running_client(create_app(settings)):
        ready = await c.get("/readyz")
        assert ready.status_code == 503
        models = ready.json()["models"]
        assert models["hull"] == "ready" and models["sentiment"] == "ready"
        assert models["translate"].startswith("failed")
        assert (await c.post("/hull", json={"points": SQUARE})).status_code == 200
        assert (await c.post("/sentiment", json={"text": "a good film"})).status_code == 200
        down = await c.post("/translate", json={"text": "ein Hund"})
        assert down.status_code == 503 and int(down.headers["retry-after"]) >= 1
        assert "not ready" in down.json()["error"]["message"]


async def test_past_max_in_flight_requests_are_shed_with_503_and_probes_still_answer(artifacts_dir: Path) -> None:
    settings = make_settings(artifacts_dir, max_batch_size=1, max_wait_ms=0)
    settings.max_in_flight = 2
    app = create_app(settings)
    async for c in running_client(app):
        batcher = app.state.registry.models["hull"].batcher
        gate = threading.Event()
        real = batcher.predict
        batcher.predict = lambda items, g=gate, r=real: g.wait(10) and r(items)
        held = [asyncio.create_task(c.post("/hull", json={"points": SQUARE})) for _ in range(2)]
        await until(lambda b=batcher: b.busy)
        shed = await c.post("/hull", json={"points": SQUARE})
        assert shed.status_code == 503 and shed.json()["error"]["code"] == "overloaded"
        assert int(shed.headers["retry-after"]) >= 1
        assert (await c.get("/readyz")).status_code == 200 and (await c.get("/metrics")).status_code == 200
        gate.set()
        assert [(await t).status_code for t in held] == [200, 200]
        assert (await c.post("/hull", json={"points": SQUARE})).status_code == 200  # recovered
