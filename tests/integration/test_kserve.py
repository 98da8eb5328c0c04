"""The KServe v2 surface in process: metadata, health, JSON and binary-extension inference, errors."""

from __future__ import annotations

import io
import json
import re
import struct
import wave
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

POINTS = np.random.default_rng(5).random((20, 2)).astype(np.float32)
PAST_THE_END = json.dumps({"inputs": [{"name": "POINTS", "datatype": "FP32", "shape": [3, 2],
                                       "parameters": {"binary_data_size": 24}}]}).encode()  # fmt: skip


@pytest.fixture
async def v2(artifacts_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(artifacts_dir, translate={"enabled": True}, speech={"enabled": True, "max_output_chars": 8},
                             caption={"enabled": True, "max_output_words": 5}, sentiment={"enabled": True})  # fmt: skip
    async for c in running_client(create_app(settings)):
        yield c


def binary_request(inputs: list[tuple[str, str, list[int], bytes]], outputs: list[str] | None = None) -> tuple[bytes, dict]:
    """A v2 request in the binary tensor extension: JSON header, then each input's raw bytes."""
    head: dict[str, Any] = {"inputs": [{"name": n, "datatype": d, "shape": s, "parameters": {"binary_data_size": len(raw)}}
                                       for n, d, s, raw in inputs]}  # fmt: skip
    if outputs:
        head["outputs"] = [{"name": o, "parameters": {"binary_data": True}} for o in outputs]
    header = json.dumps(head).encode()
    return header + b"".join(raw for *_, raw in inputs), {"Inference-Header-Content-Length": str(len(header))}


def bytes_tensor(*values: bytes) -> bytes:
    return b"".join(struct.pack("<I", len(v)) + v for v in values)


def read_binary(response: httpx.Response) -> tuple[dict[str, Any], bytes]:
    n = int(response.headers["Inference-Header-Content-Length"])
    return json.loads(response.content[:n]), response.content[n:]


async def test_metadata_and_health(v2: httpx.AsyncClient) -> None:
    assert (await v2.get("/v2")).json()["extensions"] == ["binary_tensor_data"]
    assert (await v2.get("/v2/health/live")).status_code == 200
    assert (await v2.get("/v2/health/ready")).status_code == 200
    meta = (await v2.get("/v2/models/hull")).json()
    assert meta["inputs"] == [{"name": "POINTS", "datatype": "FP32", "shape": [-1, 2]}]
    assert (await v2.get("/v2/models/sentiment/ready")).status_code == 200
    config = (await v2.get("/v2/models/translate/config")).json()  # what perf_analyzer reads
    assert config["max_batch_size"] == 0 and config["input"] == [{"name": "TEXT", "data_type": "TYPE_STRING", "dims": [-1]}]
    missing = await v2.get("/v2/models/nope")
    assert missing.status_code == 404 and "not served" in missing.json()["error"]


async def test_json_inference_matches_the_task_endpoints(v2: httpx.AsyncClient) -> None:
    body = {"id": "r1", "inputs": [{"name": "POINTS", "datatype": "FP32", "shape": [20, 2], "data": POINTS.ravel().tolist()}]}
    r = await v2.post("/v2/models/hull/infer", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    ours = (await v2.post("/hull", json={"points": POINTS.astype(np.float64).tolist()})).json()
    assert out["id"] == "r1" and out["model_name"] == "hull" and out["outputs"][0]["data"] == ours["hull"]
    texts = ["ein mann fährt fahrrad .", "eine frau liest ein buch ."]
    r = await v2.post(
        "/v2/models/translate/infer", json={"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [2], "data": texts}]}
    )
    ours = (await v2.post("/translate", json={"text": texts})).json()
    assert r.json()["outputs"][0]["data"] == [x["translations"][0]["text"] for x in ours["results"]]
    r = await v2.post(
        "/v2/models/sentiment/infer",
        json={"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["a good film ."]}]},
    )
    ours = (await v2.post("/sentiment", json={"text": "a good film ."})).json()
    label, probs = r.json()["outputs"]
    assert label["data"] == [ours["label"]] and probs["shape"] == [1, 5]


async def test_binary_extension_in_and_out(v2: httpx.AsyncClient) -> None:
    content, headers = binary_request([("POINTS", "FP32", [20, 2], POINTS.astype("<f4").tobytes())], outputs=["HULL"])
    r = await v2.post("/v2/models/hull/infer", content=content, headers=headers)
    assert r.status_code == 200, r.text
    head, raw = read_binary(r)
    ours = (await v2.post("/hull", json={"points": POINTS.astype(np.float64).tolist()})).json()
    assert np.frombuffer(raw, dtype="<i8").tolist() == ours["hull"] and head["outputs"][0]["parameters"][
        "binary_data_size"
    ] == len(raw)
    wav = wav_bytes(np.sin(np.arange(4000) / 5).astype(np.float32) * 0.3, 8000)
    content, headers = binary_request([("AUDIO", "BYTES", [1], bytes_tensor(wav))])
    r = await v2.post("/v2/models/speech/infer", content=content, headers=headers)
    ours = (await v2.post("/transcribe", files={"file": ("a.wav", wav)})).json()
    assert r.status_code == 200 and r.json()["outputs"][0]["data"] == [ours["text"]]
    png = image_bytes(64, 64)
    content, headers = binary_request([("IMAGE", "BYTES", [1], bytes_tensor(png))])
    r = await v2.post("/v2/models/caption_grounded/infer", content=content, headers=headers)
    ours = (await v2.post("/caption", files={"file": ("a.png", png)}, data={"model": "grounded"})).json()
    assert r.status_code == 200 and r.json()["outputs"][0]["data"] == [ours["caption"]]


@pytest.mark.parametrize(
    ("kwargs", "status", "fragment"),
    [
        ({"content": b"{not json"}, 400, "not valid JSON"),
        ({"json": {"inputs": "x"}}, 400, "'inputs' list"),
        ({"json": {"inputs": [{"name": "POINTS", "datatype": "FP32", "shape": [3, 2], "data": [1, 2]}]}}, 400, "do not fill"),
        ({"json": {"inputs": [{"name": "POINTS", "datatype": "FP32", "shape": [3, 3], "data": [0] * 9}]}}, 400, "[n, 2]"),
        ({"json": {"inputs": [{"name": "OTHER", "datatype": "FP32", "shape": [1], "data": [1]}]}}, 400, "missing input"),
        ({"json": {"inputs": [{"name": "POINTS", "datatype": "FP16", "shape": [1], "data": [1]}]}}, 400, "not supported"),
        ({"json": {"inputs": [{"name": "POINTS", "datatype": "FP32", "shape": [2, 2], "data": [0, 0, 1, 1]}]}}, 400, "least 3"),
        ({"content": b"{}", "headers": {"Inference-Header-Content-Length": "99"}}, 400, "not a length within the body"),
        ({"content": PAST_THE_END, "headers": {"Inference-Header-Content-Length": str(len(PAST_THE_END))}}, 400, "past the end"),
        # Found by the OpenAPI fuzzer (tests/fuzz): each of these was a 500.
        ({"json": {"inputs": [{"name": "POINTS", "datatype": "FP32", "shape": [3, 2], "data": [0] * 6, "parameters": 1.0}]}},
         400, "inputs.0.parameters"),
        ({"json": {"inputs": [{"name": "POINTS", "datatype": "FP32", "shape": [3, 2], "data": [0] * 6}], "outputs": 5}},
         400, "outputs"),
        ({"json": {"inputs": [{"name": "POINTS", "datatype": "BOOL", "shape": [0, 208, 119428225, 371295268], "data": []}]}},
         400, "too large"),
        ({"json": {"inputs": [{"name": "POINTS", "datatype": "BYTES", "shape": [1], "data": [None]}]}}, 400, "must be strings"),
        ({"json": {"inputs": [{"name": "POINTS", "datatype": "BYTES", "shape": [2], "data": [["a"], "b"]}]}},
         400, "datatype must be FP32"),
        ({"json": {"inputs": [{"name": "POINTS", "datatype": "FP32", "shape": [3, 2], "data": [0, 0, 1, 0, 3.5e38, 1]}]}},
         400, "not FP32"),
        ({"json": {"inputs": [{"name": "POINTS", "datatype": "INT32", "shape": [3, 2], "data": [0, 0, 1, 0, 2**40, 1]}]}},
         400, "not INT32"),
    ],
)  # fmt: skip
async def test_bad_requests_get_a_v2_error(v2: httpx.AsyncClient, kwargs: dict[str, Any], status: int, fragment: str) -> None:
    r = await v2.post("/v2/models/hull/infer", **kwargs)
    assert r.status_code == status, r.text
    assert fragment in r.json()["error"]


def stereo_wav(seconds: float, rate: int) -> bytes:
    """16-bit stereo PCM: a tone on the left, noise on the right."""
    t = np.arange(int(seconds * rate)) / rate
    left = 0.3 * np.sin(2 * np.pi * 220 * t)
    right = 0.05 * np.random.default_rng(0).standard_normal(len(t))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.stack([left, right], axis=1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


async def test_a_wav_transcribe_takes_is_taken_by_v2_too(v2: httpx.AsyncClient) -> None:
    """A 12 s 48 kHz stereo WAV (2.3 MB) is over the server's 1 MB JSON limit but within the speech model's
    own: /v2/models/speech/infer has the same body limit as /transcribe (it used to get the 1 MB one)."""
    wav = stereo_wav(12, 48_000)
    assert len(wav) > 2_300_000
    ours = await v2.post("/transcribe", files={"file": ("a.wav", wav)})
    assert ours.status_code == 200, ours.text
    content, headers = binary_request([("AUDIO", "BYTES", [1], bytes_tensor(wav))])
    r = await v2.post("/v2/models/speech/infer", content=content, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][0]["data"] == [ours.json()["text"]]
    # Past the speech model's own limit, both refuse it alike.
    big = b"\0" * 8_000_001
    assert (await v2.post("/transcribe", files={"file": ("a.wav", big)})).status_code == 413
    content, headers = binary_request([("AUDIO", "BYTES", [1], bytes_tensor(big))])
    assert (await v2.post("/v2/models/speech/infer", content=content, headers=headers)).status_code == 413
    # Models that take JSON keep the server's limit on /v2 too.
    content, headers = binary_request([("TEXT", "BYTES", [1], bytes_tensor(b"a" * 1_100_000))])
    assert (await v2.post("/v2/models/translate/infer", content=content, headers=headers)).status_code == 413


def request_counts(metrics_text: str) -> dict[tuple[str, str, str], float]:
    """seq2serve_requests_total samples by (model, endpoint, status)."""
    counts = {}
    for line in metrics_text.splitlines():
        m = re.fullmatch(r'seq2serve_requests_total\{endpoint="([^"]*)",model="([^"]*)",status="(\d+)"\} (\S+)', line)
        if m:
            counts[(m[2], m[1], m[3])] = float(m[4])
    return counts


async def test_v2_traffic_is_counted_under_its_route_and_model(v2: httpx.AsyncClient) -> None:
    body = {"inputs": [{"name": "POINTS", "datatype": "FP32", "shape": [20, 2], "data": POINTS.ravel().tolist()}]}
    for _ in range(2):
        assert (await v2.post("/v2/models/hull/infer", json=body)).status_code == 200
    texts = {"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["ein mann ."]}]}
    assert (await v2.post("/v2/models/translate/infer", json=texts)).status_code == 200
    assert (await v2.get("/v2/models/sentiment/ready")).status_code == 200
    assert (await v2.post("/v2/models/nope/infer", json=body)).status_code == 404
    assert (await v2.post("/hull", json={"points": POINTS.astype(np.float64).tolist()})).status_code == 200
    counts = request_counts((await v2.get("/metrics")).text)
    assert counts[("hull", "/v2/models/{model}/infer", "200")] == 2
    assert counts[("translate", "/v2/models/{model}/infer", "200")] == 1
    assert counts[("sentiment", "/v2/models/{model}/ready", "200")] == 1
    assert counts[("-", "/v2/models/{model}/infer", "404")] == 1  # a name not served: no new label value
    assert counts[("hull", "/hull", "200")] == 1
    assert not [k for k in counts if k[1] == "other"]


@pytest.mark.parametrize("model", ["translate", "sentiment"])
async def test_text_that_is_not_utf8_gets_a_400_that_says_so(v2: httpx.AsyncClient, model: str) -> None:
    content, headers = binary_request([("TEXT", "BYTES", [1], bytes_tensor(b"ein \xff mann"))])
    r = await v2.post(f"/v2/models/{model}/infer", content=content, headers=headers)
    assert r.status_code == 400 and "not UTF-8" in r.json()["error"]
