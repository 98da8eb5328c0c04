"""benchmarks.loadgen against a trivial echo app served by uvicorn on a free loopback port in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from benchmarks.loadgen import LoadResult, closed_loop, main, open_loop, require_loopback, sweep

app = FastAPI()


@app.post("/echo")
async def echo(body: dict) -> dict:
    return {"x": body["x"]}


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    # Bind the socket ourselves so the port is known and cannot be taken between choosing and binding it.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", ws="none", http="h11")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/echo"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def make_body(i: int) -> dict:
    return {"x": i}


def check(body: dict, answer: dict) -> bool:
    return answer == {"x": body["x"]}


def assert_clean(result: LoadResult) -> None:
    assert result.sent > 0
    assert result.ok == result.sent
    assert result.errors == {}
    assert result.p50_ms <= result.p90_ms <= result.p99_ms
    assert result.throughput > 0
    assert result.to_row()["ok"] == result.ok


async def test_closed_loop(echo_url: str) -> None:
    result = await closed_loop(echo_url, make_body, concurrency=4, duration_s=1.0, warmup_s=0.2, timeout_s=5.0, check=check)
    assert result.mode == "closed" and result.concurrency == 4
    assert_clean(result)


async def test_open_loop(echo_url: str) -> None:
    result = await open_loop(echo_url, make_body, rate=50, duration_s=1.0, warmup_s=0.2, timeout_s=5.0, check=check)
    assert result.mode == "open" and result.rate == 50
    assert_clean(result)


async def test_sweep_runs_closed_then_open_loops_over_a_pool(echo_url: str) -> None:
    pool = [make_body(i) for i in range(3)]
    rows = await sweep(echo_url, pool, [2], [40], duration_s=0.5, warmup_s=0.1, check=check)
    assert [(r["mode"], r["concurrency"], r["rate"]) for r in rows] == [("closed", 2, None), ("open", None, 40)]
    assert all(r["sent"] > 0 and r["ok"] == r["sent"] and r["errors"] == {} for r in rows)


async def test_check_mismatch_is_an_error(echo_url: str) -> None:
    # 1 s, not less: on a loaded 2-core machine a shorter window can end before the first answer comes back
    result = await closed_loop(echo_url, make_body, concurrency=1, duration_s=1.0, warmup_s=0.0, check=lambda b, a: False)
    assert result.sent >= 1 and result.ok == 0 and result.errors == {"mismatch": result.sent}


@pytest.mark.parametrize("url", ["http://example.com/hull", "http://10.0.0.1:8000/hull", "http://[::2]:8000/"])
async def test_non_loopback_refused(url: str) -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        require_loopback(url)
    with pytest.raises(ValueError, match="non-loopback"):
        await closed_loop(url, make_body, concurrency=1, duration_s=0.1)


def test_cli_refuses_non_loopback(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text('{"x": 1}')
    with pytest.raises(SystemExit) as exc:
        main(["--url", "http://example.com/hull", "--body-file", str(body), "--closed", "1", "--duration", "0.1"])
    assert exc.value.code != 0


def test_loopback_hosts_accepted() -> None:
    for url in ("http://127.0.0.1:8000/hull", "http://localhost/x", "http://[::1]:8000/"):
        require_loopback(url)
