"""POST /hull and the system routes, in process, with concurrent requests."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest

from service.app import create_app
from tests.helpers import until
from tests.integration.conftest import make_settings, running_client

SQUARE = [[0, 0], [1, 0], [0.5, 0.4], [1, 1], [0, 1]]


def random_points(seed: int, n: int) -> list[list[float]]:
    return np.random.default_rng(seed).random((n, 2)).round(6).tolist()


async def test_hull_answers_with_a_well_formed_body(client: httpx.AsyncClient) -> None:
    r = await client.post("/hull", json={"points": SQUARE, "decoding": "constrained", "return_attention": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["hull"][0] == min(body["hull"]) and body["closed"] and body["convex"]
    assert body["coordinates"] == [SQUARE[i] for i in body["hull"]]
    assert len(body["attention"]) == len(body["hull"]) + 1
    step = body["attention"][0]
    assert len(step["weights"]) == len(SQUARE)
    assert sum(step["weights"]) + step["end_weight"] == pytest.approx(1.0, abs=1e-4)


async def test_scale_and_offset_do_not_change_the_answer(client: httpx.AsyncClient) -> None:
    pts = random_points(1, 15)
    moved = [[1000 + 500 * x, -300 + 500 * y] for x, y in pts]
    a = (await client.post("/hull", json={"points": pts, "decoding": "constrained"})).json()
    b = (await client.post("/hull", json={"points": moved, "decoding": "constrained"})).json()
    assert a["hull"] == b["hull"]
    assert b["area"] == pytest.approx(a["area"] * 500**2, rel=1e-6)


async def test_concurrent_requests_are_batched_and_match_single_answers(artifacts_dir: Path) -> None:
    bodies = [{"points": random_points(s, 5 + 3 * s), "decoding": ["greedy", "beam", "constrained"][s % 3]} for s in range(24)]
    app = create_app(make_settings(artifacts_dir, max_batch_size=16, max_wait_ms=50))
    async for c in running_client(app):
        together = await asyncio.gather(*(c.post("/hull", json=b) for b in bodies))
        alone = [await c.post("/hull", json=b) for b in bodies]
        metrics = (await c.get("/metrics")).text
    for t, a in zip(together, alone, strict=True):
        assert t.status_code == a.status_code == 200
        tj, aj = t.json(), a.json()
        assert tj["hull"] == aj["hull"]
        assert tj["log_prob"] == pytest.approx(aj["log_prob"], abs=1e-3)
    # At least one formed batch held more than one request.
    counts = {
        float(le): float(v)
        for le, v in re.findall(r'seq2serve_batch_size_bucket\{le="([\d.]+)",model="hull"\} ([\d.]+)', metrics)
    }
    assert counts[1.0] < counts[1024.0]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"points": [[0, 0], [1, 1]]}, "at least 3"),
        ({"points": [[0, 0], [1, 1], [2, 2]]}, "one line"),
        ({"points": [[1, 1], [1, 1], [1, 1]]}, "all points are equal"),
        ({"points": [[0, 0], [1, 0], [0, "x"]]}, "points.2.1"),
        ({"points": [[0, 0], [1, 0], [0, 1, 2]]}, "points.2"),
        ({"points": [[0, 0], [1, 0], [0, 1]], "decoding": "sideways"}, "decoding"),
        ({"points": [[0, 0], [1, 0], [0, 1]], "beam_size": 0}, "beam_size"),
        ({"points": [[0, 0], [1, 0], [0, 1]], "beam_size": 3}, "greedy decoding uses one beam"),
        ({"points": [[0, 0], [1, 0], [0, 1]], "decoding": "beam", "beam_size": 99}, "limit of 16"),
        ({"points": [[0, 0], [1, 0], [0, 1]], "colour": "red"}, "colour"),
        ({"points": [[i / 300, (i * 7 % 300) / 300] for i in range(300)]}, "limit of 256"),
        ({}, "points"),
        ({"points": [[True, False], [0, 1], [1, 0]]}, "points.0.0"),
        ({"points": [["1", "2"], [0, 1], [1, 0]]}, "points.0.0"),
        ({"points": [[1e308, 0], [-1e308, 0], [0, 1e308]]}, "points.0.0"),
        ({"points": None}, "points"),
        ({"points": {"a": 1}}, "points"),
    ],
)
async def test_bad_input_gets_422_with_a_message(client: httpx.AsyncClient, body: dict, fragment: str) -> None:
    r = await client.post("/hull", json=body)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_input" and fragment in err["message"]


@pytest.mark.parametrize(
    "raw", [b'{"points": [[0,0],[1,NaN],[0,1]]}', b'{"points": [[0,0],[1,Infinity],[0,1]]}', b"{not json", b"\xff\xfe"]
)
async def test_non_finite_and_malformed_json_get_422(client: httpx.AsyncClient, raw: bytes) -> None:
    r = await client.post("/hull", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_input"


async def test_duplicates_report_the_lowest_index_and_tiny_scales_work(client: httpx.AsyncClient) -> None:
    pts = [[0, 0], [1, 0], [0, 1], [0, 0], [1, 0], [0.2, 0.2]]
    body = (await client.post("/hull", json={"points": pts, "decoding": "constrained"})).json()
    assert set(body["hull"]) <= {0, 1, 2, 5}  # never index 3 or 4: they repeat 0 and 1
    tiny = [[x * 1e-9, y * 1e-9] for x, y in SQUARE]
    a = (await client.post("/hull", json={"points": SQUARE, "decoding": "constrained"})).json()
    b = (await client.post("/hull", json={"points": tiny, "decoding": "constrained"})).json()
    assert a["hull"] == b["hull"] and a["convex"] == b["convex"]
    assert b["area"] == pytest.approx(a["area"] * 1e-18, rel=1e-6)


@pytest.mark.parametrize("body", [[1, 2, 3], None, "x"])
async def test_non_object_bodies_get_422(client: httpx.AsyncClient, body: object) -> None:
    r = await client.post("/hull", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


async def test_oversized_body_gets_413(client: httpx.AsyncClient) -> None:
    r = await client.post("/hull", content=b"[" + b"0," * 600_000 + b"0]", headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "limit" in r.json()["error"]["message"]


async def test_unknown_route_and_method_use_the_error_shape(client: httpx.AsyncClient) -> None:
    r = await client.get("/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await client.get("/hull")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


async def test_system_routes(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True, "models": {"hull": "ready"}}
    models = (await client.get("/v1/models")).json()["models"]
    assert models[0]["name"] == "hull" and models[0]["runtime"] == "onnx" and models[0]["device"] == "cpu"
    assert models[0]["batching"]["max_batch_size"] == 32 and models[0]["members"] == 1
    spec = (await client.get("/openapi.json")).json()
    assert "/hull" in spec["paths"] and "422" in spec["paths"]["/hull"]["post"]["responses"]


async def test_metrics_count_requests_by_status(client: httpx.AsyncClient) -> None:
    await client.post("/hull", json={"points": SQUARE})
    await client.post("/hull", json={"points": []})
    text = (await client.get("/metrics")).text
    assert 'seq2serve_requests_total{endpoint="/hull",model="hull",status="200"} 1.0' in text
    assert 'seq2serve_requests_total{endpoint="/hull",model="hull",status="422"} 1.0' in text
    for name in ("request_latency_seconds", "queue_wait_seconds", "compute_seconds", "batch_size", "queue_depth", "in_flight"):
        assert f"seq2serve_{name}" in text


async def test_torchscript_runtime_serves_the_same_hulls(artifacts_dir: Path, client: httpx.AsyncClient) -> None:
    body = {"points": random_points(9, 30), "decoding": "beam", "beam_size": 3}
    expected = (await client.post("/hull", json=body)).json()
    async for ts in running_client(create_app(make_settings(artifacts_dir, runtime="torchscript"))):
        got = (await ts.post("/hull", json=body)).json()
        assert (await ts.get("/v1/models")).json()["models"][0]["runtime"] == "torchscript"
    assert got["hull"] == expected["hull"]


async def test_a_model_that_fails_to_load_is_reported_not_ready(tmp_path: Path) -> None:
    async for c in running_client(create_app(make_settings(tmp_path))):  # no exported graphs there
        ready = await c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["models"]["hull"].startswith("failed")
        r = await c.post("/hull", json={"points": SQUARE})
        assert r.status_code == 503 and r.headers["retry-after"]
        assert (await c.get("/healthz")).status_code == 200


async def test_full_queue_gets_503_and_queued_past_deadline_gets_504(artifacts_dir: Path) -> None:
    settings = make_settings(artifacts_dir, max_batch_size=1, max_wait_ms=0, max_queue=1)
    settings.request_timeout_s = 0.3
    app = create_app(settings)
    async for c in running_client(app):
        batcher = app.state.registry.models["hull"].batcher

        def slow(items: list, real: Callable[[list], list] = batcher.predict) -> list:
            time.sleep(0.5)
            return real(items)

        batcher.predict = slow
        body = {"points": SQUARE}
        first = asyncio.create_task(c.post("/hull", json=body))  # computing for 0.5 s
        await until(lambda b=batcher: b.busy)
        second = asyncio.create_task(c.post("/hull", json=body))  # queued; its 0.3 s deadline passes
        await until(lambda b=batcher: b.depth == 1)
        third = await c.post("/hull", json=body)  # the queue (size 1) is full
        assert third.status_code == 503 and third.json()["error"]["code"] == "queue_full"
        assert int(third.headers["retry-after"]) >= 1
        assert (await first).status_code == 200
        late = await second
        assert late.status_code == 504 and late.json()["error"]["code"] == "deadline_exceeded"
