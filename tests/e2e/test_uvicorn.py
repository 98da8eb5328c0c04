"""A real uvicorn process over real HTTP: serve, batch, and drain in-flight requests on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from benchmarks.server import Server, running_server

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(artifacts_dir: Path, tmp_path: Path) -> Iterator[Server]:
    env = {
        "SEQ2SERVE_ARTIFACTS_DIR": str(artifacts_dir),
        "SEQ2SERVE_HULL__MAX_WAIT_MS": "20",
        "SEQ2SERVE_LOG_LEVEL": "info",
        "SEQ2SERVE_TRANSLATE__ENABLED": "true",
        "SEQ2SERVE_SPEECH__ENABLED": "true",
        "SEQ2SERVE_SPEECH__MAX_OUTPUT_CHARS": "12",  # the tiny test model is untrained: keep its answers short
        "SEQ2SERVE_CAPTION_PHOTO__ENABLED": "true",
        "SEQ2SERVE_CAPTION_PHOTO__MAX_OUTPUT_WORDS": "8",
        "SEQ2SERVE_CAPTION_GROUNDED__ENABLED": "true",
        "SEQ2SERVE_CAPTION_GROUNDED__MAX_OUTPUT_WORDS": "8",
    }
    with running_server(env, tmp_path / "server.log", ready_timeout_s=60) as s:
        yield s


def body(seed: int) -> dict:
    return {"points": np.random.default_rng(seed).random((40, 2)).tolist(), "decoding": "beam", "beam_size": 8}


async def test_serves_concurrent_http_requests(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        rs = await asyncio.gather(*(c.post("/hull", json=body(s)) for s in range(16)))
        assert all(r.status_code == 200 for r in rs)
        assert all(r.json()["model"] == "hull" for r in rs)
        bad = await c.post("/hull", json={"points": [[0, 0]]})
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/json"
        assert "seq2serve_batch_size_bucket" in (await c.get("/metrics")).text


async def in_flight(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics")).text
    match = re.search(r'seq2serve_in_flight_requests\{endpoint="/hull"\} ([\d.]+)', text)
    return float(match.group(1)) if match else 0.0


async def test_sigterm_drains_in_flight_requests(server: Server) -> None:
    proc = server.proc
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        inflight = [asyncio.create_task(c.post("/hull", json=body(s))) for s in range(24)]
        deadline = time.monotonic() + 10
        while (held := await in_flight(c)) < 8 and time.monotonic() < deadline:  # wait until the server holds work
            await asyncio.sleep(0.01)
        assert held >= 8, "the requests never got in flight: SIGTERM would find an idle server"
        proc.send_signal(signal.SIGTERM)
        results = await asyncio.gather(*inflight, return_exceptions=True)
    answered = [r for r in results if isinstance(r, httpx.Response)]
    # A request that had not connected before SIGTERM may be refused; one that had must not be dropped.
    refused = [r for r in results if isinstance(r, httpx.ConnectError)]
    assert len(answered) + len(refused) == len(results), [type(r).__name__ for r in results]
    # Every request the server held when SIGTERM came was answered, and answered in full.
    assert len(answered) >= held and all(r.status_code == 200 for r in answered), [r.status_code for r in answered]
    assert all(len(r.json()["hull"]) >= 3 for r in answered)
    # uvicorn re-raises the captured SIGTERM after a clean shutdown, so -15 is the normal exit here.
    assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    assert "batchers drained and stopped" in server.log.read_text()


@pytest.mark.parametrize("script", sorted(p.name for p in (Path(__file__).parents[2] / "examples").glob("*.sh")))
def test_example_scripts_run_against_the_server(server: Server, script: str) -> None:
    """Every curl example runs, and each answer it prints is JSON (the last one of each is a 422 on purpose)."""
    path = Path(__file__).parents[2] / "examples" / script
    done = subprocess.run(["bash", str(path)], env={**os.environ, "SEQ2SERVE_URL": server.url},
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(answers) >= 2 and "error" in answers[-1] and all("error" not in a for a in answers[:-1])
