"""A real uvicorn process over real HTTP: serve, batch, and drain in-flight requests on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path


@pytest.fixture
def server(artifacts_dir: Path, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    env = {**os.environ, "SEQ2SERVE_ARTIFACTS_DIR": str(artifacts_dir), "SEQ2SERVE_PORT": str(port),
           "SEQ2SERVE_HULL__MAX_WAIT_MS": "20", "SEQ2SERVE_LOG_LEVEL": "info"}  # fmt: skip
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "service"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited early: {log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("server did not become ready in 60 s")
    yield Server(proc, url, log)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


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


async def test_sigterm_drains_in_flight_requests(server: Server) -> None:
    proc = server.proc
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        inflight = [asyncio.create_task(c.post("/hull", json=body(s))) for s in range(24)]
        await asyncio.sleep(0.15)  # requests are on the wire and queued or computing
        proc.send_signal(signal.SIGTERM)
        results = await asyncio.gather(*inflight, return_exceptions=True)
    statuses = [r.status_code if isinstance(r, httpx.Response) else type(r).__name__ for r in results]
    assert all(s == 200 for s in statuses), statuses
    # uvicorn re-raises the captured SIGTERM after a clean shutdown, so -15 is the normal exit here.
    assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    assert "batchers drained and stopped" in server.log.read_text()
