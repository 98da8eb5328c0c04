"""batching=step (service/engine/scheduler.py) in process: same answers as request-level batching."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from models.speech.audio import wav_bytes
from service.app import create_app
from tests.integration.conftest import make_settings, running_client
from tests.integration.test_api_caption import image_bytes

TEXTS = ["ein mann fährt fahrrad .", "zwei hunde spielen im park .", "ein kind isst einen apfel .",
         "der mann liest ein buch im park .", "eine frau ."]  # fmt: skip


def settings(artifacts_dir: Path, batching: str) -> Any:
    common = {"batching": batching, "max_wait_ms": 20}
    return make_settings(
        artifacts_dir,
        **common,  # hull
        translate={"enabled": True, **common},
        speech={"enabled": True, "max_output_chars": 10, **common},
        caption={"enabled": True, "max_output_words": 6, **common},
    )


@pytest.fixture
async def step_client(artifacts_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for c in running_client(create_app(settings(artifacts_dir, "step"))):
        yield c


@pytest.fixture
async def request_client(artifacts_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for c in running_client(create_app(settings(artifacts_dir, "request"))):
        yield c


def tone(seconds: float, freq: float) -> bytes:
    t = np.arange(int(seconds * 8000)) / 8000
    return wav_bytes((0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 8000)


async def answers(client: httpx.AsyncClient) -> list[Any]:
    """Concurrent requests of every decoder model, of different lengths, with beams and n-best."""
    calls = [client.post("/translate", json={"text": t, "beam_size": 3, "n_best": 2, "return_scores": True, "max_length": 8})
             for t in TEXTS]  # fmt: skip
    calls += [client.post("/transcribe", json={"audio_base64": base64.b64encode(tone(s, f)).decode(), "beam_size": 2})
              for s, f in [(0.4, 300), (1.9, 500), (1.1, 700)]]  # fmt: skip
    calls += [client.post("/caption", files={"file": ("a.png", image_bytes(64, 64, seed=k), "image/png")},
                          data={"model": m, "beam_size": "2", "return_attention": "false"})
              for k, m in enumerate(["photo", "grounded", "photo"])]  # fmt: skip
    rng = np.random.default_rng(0)
    calls += [client.post("/hull", json={"points": rng.random((n, 2)).tolist(), "decoding": mode, "beam_size": beam})
              for n, mode, beam in [(5, "greedy", 1), (40, "beam", 3), (12, "constrained", 2), (25, "greedy", 1)]]  # fmt: skip
    responses = await asyncio.gather(*calls)
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    return [r.json() for r in responses]


def strip_scores(body: Any) -> Any:
    """Texts and token ids are compared exactly, float scores to 1e-4 (padding changes summation order)."""
    if isinstance(body, dict):
        floats = ("log_prob", "score", "confidence", "area")
        return {k: strip_scores(v) for k, v in body.items() if k not in floats}
    if isinstance(body, list):
        return [strip_scores(v) for v in body]
    return body


async def test_step_batching_answers_like_request_batching(
    step_client: httpx.AsyncClient, request_client: httpx.AsyncClient
) -> None:
    stepped, requested = await answers(step_client), await answers(request_client)
    assert strip_scores(stepped) == strip_scores(requested)
    for a, b in zip(stepped[: len(TEXTS)], requested[: len(TEXTS)], strict=True):
        scores = lambda body: [t["log_prob"] for r in body["results"] for t in r["translations"]]  # noqa: E731
        assert scores(a) == pytest.approx(scores(b), abs=1e-4)
    metrics = (await step_client.get("/metrics")).text
    for model in ("translate", "speech", "caption_photo", "hull"):  # steps were shared by several items
        counts = {float(le): float(v) for le, v in
                  re.findall(rf'seq2serve_step_items_bucket\{{le="([\d.]+)",model="{model}"\}} ([\d.]+)', metrics)}  # fmt: skip
        assert counts[1.0] < counts[1024.0], model
    assert 'seq2serve_generated_tokens_total{model="speech"}' in metrics


async def test_step_batching_on_a_model_without_it_fails_that_model_only(artifacts_dir: Path) -> None:
    # sentiment: a tree network, no decoder to step
    app = create_app(make_settings(artifacts_dir, sentiment={"enabled": True, "batching": "step"}))
    async for c in running_client(app):
        ready = (await c.get("/readyz")).json()
        assert ready["ready"] is False and "no step-level batching" in ready["models"]["sentiment"]
        assert ready["models"]["hull"] == "ready"
