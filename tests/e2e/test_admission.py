"""Slow clients against a real uvicorn process: uploads and headers that stall hold no in-flight slot, get
408 at the read deadline and have their connections closed; a normal request is served meanwhile."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks.server import Server, running_server

pytestmark = pytest.mark.e2e

READ_TIMEOUT_S = 3.0
STALLED = 1100  # more than SEQ2SERVE_MAX_IN_FLIGHT (1024 by default, 64 here)
SQUARE = {"points": [[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]]}


@pytest.fixture
def server(artifacts_dir: Path, tmp_path: Path) -> Iterator[Server]:
    env = {"SEQ2SERVE_ARTIFACTS_DIR": str(artifacts_dir), "SEQ2SERVE_READ_TIMEOUT_S": str(READ_TIMEOUT_S),
           "SEQ2SERVE_MAX_IN_FLIGHT": "64"}  # fmt: skip
    with running_server(env, tmp_path / "server.log", ready_timeout_s=60) as s:
        yield s


async def stall(port: int, head: bytes) -> tuple[float, bytes]:
    """Send `head` and nothing more; (seconds until the server closed the connection, what it sent)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head)
    await writer.drain()
    t0 = time.monotonic()
    answer = await asyncio.wait_for(reader.read(), timeout=READ_TIMEOUT_S + 20)  # until EOF: the server closed it
    writer.close()
    return time.monotonic() - t0, answer


async def reading(client: httpx.AsyncClient) -> float:
    match = re.search(r"^seq2serve_reading_requests ([\d.]+)$", (await client.get("/metrics")).text, re.MULTILINE)
    return float(match.group(1)) if match else -1.0


async def test_stalled_uploads_and_headers_neither_block_others_nor_stay_open(server: Server) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    upload = b"POST /hull HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{"
    partial = b"POST /hull HTTP/1.1\r\nhost: x\r\ncontent-le"
    tasks = [asyncio.create_task(stall(port, upload)) for _ in range(STALLED)]
    tasks += [asyncio.create_task(stall(port, partial)) for _ in range(20)]
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        deadline = time.monotonic() + READ_TIMEOUT_S
        while await reading(c) < STALLED and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert await reading(c) >= STALLED * 0.9  # they are being read, and hold no in-flight slot...
        t0 = time.monotonic()
        ok = await c.post("/hull", json=SQUARE)
        assert ok.status_code == 200 and time.monotonic() - t0 < 2.0  # ...so a normal request is served at once
        results = await asyncio.gather(*tasks)
        assert await reading(c) == 0
    for seconds, answer in results:
        assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
        assert seconds < READ_TIMEOUT_S + 5  # closed at the deadline (plus the time to answer 1,100 of them)
    assert all(b"request_timeout" in answer for _, answer in results)
