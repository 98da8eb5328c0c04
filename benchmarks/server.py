"""Run `python -m service` as a child process on a free loopback port, for benchmarks and e2e tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(server: Server, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log.read_text()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"server not ready after {timeout_s} s:\n{server.log.read_text()}")


@contextmanager
def running_server(env: dict[str, str], log: Path, ready_timeout_s: float = 120, root: Path = ROOT) -> Iterator[Server]:
    """Start the service with SEQ2SERVE_* overrides in `env`; SIGTERM it (then kill) on exit. `root`: the
    checkout whose code runs (another commit's worktree, for a comparison)."""
    port = free_port()
    full_env = {**os.environ, "SEQ2SERVE_HOST": "127.0.0.1", "SEQ2SERVE_PORT": str(port), "PYTHONPATH": str(root), **env}
    log.parent.mkdir(parents=True, exist_ok=True)  # runs/ does not exist on a fresh clone
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "service"], cwd=root, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    try:
        wait_ready(server, ready_timeout_s)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
