"""POST /transcribe in process, on a tiny seeded model: both upload forms, shapes, batching, limits."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from models.speech.audio import wav_bytes
from service.app import create_app
from tests.helpers import formed_a_batch
from tests.integration.conftest import make_settings, running_client


def tone(seconds: float, rate: int = 8000, freq: float = 300.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


SPEECH = {"enabled": True, "max_output_chars": 8, "max_audio_seconds": 3, "max_body_bytes": 200_000, "max_wait_ms": 50}


@pytest.fixture
async def sclient(artifacts_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    # max_wait_ms 50: concurrent uploads, each decoded in a thread first, still meet in one batch
    async for c in running_client(create_app(make_settings(artifacts_dir, speech=SPEECH))):
        yield c


@pytest.fixture
async def sclient_fp32(artifacts_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    # The served default is int8, whose dynamic quantization picks its scales per batch: scores then move
    # with a batch's company (about 1e-2 in log-prob). Float32 shows whether padding and masks are right.
    async for c in running_client(create_app(make_settings(artifacts_dir, speech=SPEECH | {"precision": "fp32"}))):
        yield c


async def upload(client: httpx.AsyncClient, audio: bytes, **fields: object) -> httpx.Response:
    data = {k: str(v) for k, v in fields.items()}
    return await client.post("/transcribe", files={"file": ("a.wav", audio, "audio/wav")}, data=data)


async def test_multipart_upload_with_attention(sclient: httpx.AsyncClient) -> None:
    r = await upload(sclient, wav_bytes(tone(1.0), 8000), beam_size=3, n_best=2, return_attention="true")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["duration_s"] == 1.0 and body["sample_rate"] == 8000 and body["model"] == "speech"
    assert 1 <= len(body["transcripts"]) <= 2 and body["text"] == body["transcripts"][0]["text"]
    steps = len(body["frame_times_s"])
    assert steps == -(-101 // 8) and body["frame_times_s"][1] == pytest.approx(0.08)  # 101 frames of 10 ms, 8 per step
    for t in body["transcripts"]:
        assert len(t["confidence"]) == len(t["text"]) and all(0 < c <= 1 for c in t["confidence"])
        assert len(t["attention"]) == len(t["text"]) + int(t["finished"])
        assert all(len(row) == steps and abs(sum(row) - 1) < 1e-3 for row in t["attention"])


async def test_json_base64_matches_multipart_and_any_rate_or_channels_works(sclient: httpx.AsyncClient) -> None:
    audio = wav_bytes(tone(0.8), 8000)
    multipart = (await upload(sclient, audio, beam_size=2)).json()
    as_json = await sclient.post("/transcribe", json={"audio_base64": base64.b64encode(audio).decode(), "beam_size": 2})
    assert as_json.status_code == 200 and as_json.json()["transcripts"] == multipart["transcripts"]
    r16 = await upload(sclient, wav_bytes(tone(0.8, rate=16000), 16000))
    assert r16.status_code == 200 and r16.json()["sample_rate"] == 16000


async def test_batched_equals_single_for_different_lengths(sclient_fp32: httpx.AsyncClient) -> None:
    client = sclient_fp32
    clips = [wav_bytes(tone(s, freq=f), 8000) for s, f in [(0.3, 200), (1.7, 500), (0.9, 800), (2.5, 300)]]
    single = [(await upload(client, c, beam_size=2)).json()["transcripts"][0] for c in clips]
    together = [r.json()["transcripts"][0] for r in await asyncio.gather(*(upload(client, c, beam_size=2) for c in clips))]
    # Same transcripts; scores agree to float32 noise (a padded batch sums in another order).
    assert [t["text"] for t in together] == [t["text"] for t in single]
    assert [t["log_prob"] for t in together] == pytest.approx([t["log_prob"] for t in single], abs=1e-4)
    assert formed_a_batch((await client.get("/metrics")).text, "speech")  # "together" did batch


async def test_speech_is_served_with_its_int8_graphs_by_default(sclient: httpx.AsyncClient) -> None:
    models = {m["name"]: m for m in (await sclient.get("/v1/models")).json()["models"]}
    assert models["speech"]["precision"] == "int8"


@pytest.mark.parametrize(
    ("kwargs", "status", "fragment"),
    [
        ({"files": {"file": ("a.wav", b"hello, not audio", "audio/wav")}}, 422, "not a WAV"),
        ({"files": {"file": ("a.wav", wav_bytes(np.zeros(0, np.float32), 8000), "audio/wav")}}, 422, "no samples"),
        ({"files": {"file": ("a.wav", wav_bytes(tone(3.5), 8000), "audio/wav")}}, 422, "limit of 3 s"),
        ({"files": {"audio": ("a.wav", wav_bytes(tone(0.5), 8000), "audio/wav")}}, 422, "field 'file'"),
        ({"files": {"file": ("a.wav", wav_bytes(tone(0.5), 8000))}, "data": {"beam_size": "0"}}, 422, "beam_size"),
        ({"files": {"file": ("a.wav", wav_bytes(tone(0.5), 8000))}, "data": {"beam_size": "2", "n_best": "3"}}, 422, "n_best"),
        ({"files": {"file": ("a.wav", wav_bytes(tone(0.5), 8000))}, "data": {"beam_size": "99"}}, 422, "limit of 16"),
        ({"files": {"file": ("a.wav", wav_bytes(tone(0.5), 8000))}, "data": {"colour": "red"}}, 422, "colour"),
        ({"json": {"audio_base64": "***"}}, 422, "not valid base64"),
        ({"json": {"audio": "UklGRg=="}}, 422, "audio_base64"),
        ({"content": b"RIFF....", "headers": {"content-type": "audio/wav"}}, 415, "multipart/form-data"),
        ({"files": {"file": ("a.wav", wav_bytes(tone(2.5, 48000), 48000), "audio/wav")}}, 413, "200000 bytes"),
    ],
)
async def test_bad_input_gets_a_clear_4xx(sclient: httpx.AsyncClient, kwargs: dict, status: int, fragment: str) -> None:
    r = await sclient.post("/transcribe", **kwargs)
    assert r.status_code == status, r.text
    assert fragment in r.text


async def test_listed_and_can_be_turned_off(sclient: httpx.AsyncClient, artifacts_dir: Path) -> None:
    names = [m["name"] for m in (await sclient.get("/v1/models")).json()["models"]]
    assert "speech" in names
    async for c in running_client(create_app(make_settings(artifacts_dir))):
        r = await c.post("/transcribe", json={"audio_base64": ""})
        assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
