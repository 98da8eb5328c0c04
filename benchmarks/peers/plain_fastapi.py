"""Peer 1, what a user would write: FastAPI calling ONNX Runtime once per request, no batching.

python -m uvicorn benchmarks.peers.plain_fastapi:app --port 9001
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from benchmarks.peers.common import answer, load, prepare, translate_batch

app = FastAPI()
handler = load()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/translate")
def translate(body: dict[str, Any]) -> dict[str, str]:  # sync: FastAPI runs it in its thread pool
    req, item = prepare(handler, body)
    return answer(handler, req, item, translate_batch(handler, [item])[0])
