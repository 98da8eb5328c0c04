"""Hostile input, endpoint by endpoint (issue 9): each case gets a clear 4xx in bounded time and memory.

One table, so a reader sees every listed attack next to the answer it gets: huge bodies, deeply nested JSON,
decompression bombs, malformed WAV headers, non-finite numbers, deep or unbalanced trees, invalid UTF-8 and
wrong content types. The per-endpoint test files hold the finer validation cases.
"""

from __future__ import annotations

import asyncio
import base64
import json
import resource
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from models.speech.audio import wav_bytes
from service.app import create_app
from tests.integration.conftest import make_settings, running_client
from tests.integration.test_api_caption import flat_png

HANG_GUARD_S = 30  # a hang guard, not a speed target: every case here answers in well under a second
RSS_GROWTH_LIMIT_MB = 300  # a bomb that got decoded (20k x 20k RGB = 1.2 GB) would blow through this

JSON_ENDPOINTS = ["/hull", "/translate", "/sentiment", "/v2/models/hull/infer"]
ALL_POSTS = [*JSON_ENDPOINTS, "/transcribe", "/caption"]


@pytest.fixture
async def hclient(artifacts_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        artifacts_dir, translate={"enabled": True}, speech={"enabled": True, "max_output_chars": 8},
        caption={"enabled": True, "max_output_words": 5}, sentiment={"enabled": True, "max_tree_depth": 50},
    )  # fmt: skip
    async for c in running_client(create_app(settings)):
        yield c


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def wav_with(**fields: int) -> bytes:
    """A 0.2 s PCM WAV whose header fields can be set to lies."""
    head = {"riff_size": 0, "fmt_size": 16, "format": 1, "channels": 1, "rate": 8000, "align": 2, "bits": 16}
    head |= fields
    pcm = np.zeros(1600, "<i2").tobytes()
    data_size = fields.get("data_size", len(pcm))
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", head["riff_size"] or 36 + len(pcm), b"WAVE", b"fmt ",
                       head["fmt_size"], head["format"], head["channels"], head["rate"], head["rate"] * head["align"],
                       head["align"], head["bits"], b"data", data_size) + pcm  # fmt: skip


def png_claiming(w: int, h: int) -> bytes:
    """A valid 1x1 PNG whose IHDR claims w x h: a decoder that trusts the header allocates w*h*3 bytes."""
    png = flat_png(1, 1)
    ihdr = png[8:33]
    fake = ihdr[:8] + struct.pack(">II", w, h) + ihdr[16:21]
    crc = struct.pack(">I", zlib.crc32(fake[4:21]) & 0xFFFFFFFF)
    return png[:8] + fake + crc + png[33:]


def tone(seconds: float, rate: int = 8000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return wav_bytes(0.3 * np.sin(2 * np.pi * 440 * t).astype(np.float32), rate)


BIG = b"x" * 11_000_000  # over every body limit the service has by default (10 MB for images)

CASES: list[tuple[str, str, dict[str, Any], int, str]] = [
    # (id, path, request kwargs, status, fragment of the message)
    # -- huge bodies: announced by Content-Length, and streamed without one
    *[(f"huge-{p}", p, {"content": BIG, "headers": {"content-type": "application/json"}}, 413, "limit") for p in ALL_POSTS],
    ("huge-streamed", "/hull", {"content": "streamed"}, 413, "limit"),
    # -- deeply nested JSON (Python's json module would recurse past its stack limit)
    *[(f"nested-{p}", p, {"content": nested(100_000), "headers": {"content-type": "application/json"}}, 400, "nest")
      for p in JSON_ENDPOINTS],
    ("nested-in-field", "/hull", {"content": b'{"points": ' + nested(50_000) + b"}",
                                  "headers": {"content-type": "application/json"}}, 400, "nest"),
    # -- decompression bombs: small files that decode to huge images
    ("bomb-png", "/caption", {"files": {"file": ("b.png", png_claiming(20_000, 20_000), "image/png")}}, 413, "pixels"),
    ("bomb-png-base64", "/caption", {"json": {"image_base64": base64.b64encode(png_claiming(20_000, 20_000)).decode()}},
     413, "pixels"),
    ("bomb-flat", "/caption", {"files": {"file": ("b.png", flat_png(6000, 5000), "image/png")}}, 413, "pixels"),
    # -- malformed WAV headers
    ("wav-zero-channels", "/transcribe", {"files": {"file": ("a.wav", wav_with(channels=0))}}, 422, "channel"),
    ("wav-zero-rate", "/transcribe", {"files": {"file": ("a.wav", wav_with(rate=0))}}, 422, "0 Hz"),
    ("wav-huge-rate", "/transcribe", {"files": {"file": ("a.wav", wav_with(rate=2_000_000_000))}}, 422, "sample rate"),
    ("wav-data-past-end", "/transcribe", {"files": {"file": ("a.wav", wav_with(data_size=10**6))}}, 422, "declares 1000000"),
    ("wav-odd-bits", "/transcribe", {"files": {"file": ("a.wav", wav_with(bits=13))}}, 422, "WAV"),
    ("wav-not-pcm", "/transcribe", {"files": {"file": ("a.wav", wav_with(format=0x55))}}, 422, "WAV"),
    ("wav-header-only", "/transcribe", {"files": {"file": ("a.wav", wav_with()[:20])}}, 422, "WAV"),
    ("wav-base64-garbage", "/transcribe", {"json": {"audio_base64": base64.b64encode(b"RIFF" + bytes(40)).decode()}},
     422, "WAV"),
    # -- NaN / inf coordinates (Python's json accepts these literals; the service must not)
    ("nan", "/hull", {"content": b'{"points": [[0, 0], [1, 0], [NaN, 1]]}',
                      "headers": {"content-type": "application/json"}}, 422, "finite"),
    ("inf", "/hull", {"content": b'{"points": [[0, 0], [1, 0], [Infinity, 1]]}',
                      "headers": {"content-type": "application/json"}}, 422, "finite"),
    ("huge-coordinate", "/hull", {"json": {"points": [[0, 0], [1, 0], [1e39, 1]]}}, 422, "less than or equal"),
    ("v2-nan-json", "/v2/models/hull/infer", {"content": b'{"inputs": [{"name": "POINTS", "datatype": "FP32", '
                                                         b'"shape": [3, 2], "data": [0, 0, 1, 0, NaN, 1]}]}'},
     400, "finite"),
    ("v2-inf-binary", "/v2/models/hull/infer", {"content": b"", "v2_points": [[0, 0], [1, 0], [np.inf, 1]]}, 400, "finite"),
    # -- deeply nested or unbalanced trees
    ("tree-long", "/sentiment", {"json": {"tree": "(" * 100_000 + "x" + ")" * 100_000}}, 422, "20000 characters"),
    ("tree-deep-small", "/sentiment", {"json": {"tree": "(" * 5_000 + "x" + ")" * 5_000}}, 422, "deeper than 50"),
    ("tree-unclosed", "/sentiment", {"json": {"tree": "(2 (2 good)"}}, 422, "never closed"),
    ("tree-extra-close", "/sentiment", {"json": {"tree": "(2 good))"}}, 422, "after the end"),
    ("tree-only-open", "/sentiment", {"json": {"tree": "(((("}}, 422, "never closed"),
    # -- invalid UTF-8
    *[(f"utf8-{p}", p, {"content": b'{"text": "gut \xff\xfe"}', "headers": {"content-type": "application/json"}},
       400, "UTF-8") for p in ["/translate", "/sentiment", "/hull"]],
    ("utf8-form-field", "/caption", {"files": {"file": ("a.png", flat_png(8, 8))}, "data": {"model": b"\xff\xfe"}},
     422, "model"),
    # -- wrong content types
    ("ctype-text-hull", "/hull", {"content": b'{"points": [[0,0],[1,0],[0,1]]}', "headers": {"content-type": "text/plain"}},
     415, "application/json"),
    ("ctype-xml-translate", "/translate", {"content": b"<text>hallo</text>", "headers": {"content-type": "application/xml"}},
     415, "application/json"),
    ("ctype-form-sentiment", "/sentiment", {"data": {"text": "good"}}, 415, "application/json"),
    ("ctype-json-as-wav", "/transcribe", {"content": b"RIFF", "headers": {"content-type": "audio/wav"}}, 415, "multipart"),
    ("ctype-multipart-no-boundary", "/caption", {"content": b"--x\r\n", "headers": {"content-type": "multipart/form-data"}},
     400, "boundary"),
]  # fmt: skip


def _v2_binary_points(points: list[list[float]]) -> tuple[bytes, dict[str, str]]:
    raw = np.asarray(points, np.float32).tobytes()
    head = {"inputs": [{"name": "POINTS", "datatype": "FP32", "shape": [len(points), 2],
                        "parameters": {"binary_data_size": len(raw)}}]}  # fmt: skip
    header = json.dumps(head).encode()
    return header + raw, {"Inference-Header-Content-Length": str(len(header))}


async def _stream(chunk: bytes, times: int) -> AsyncIterator[bytes]:
    for _ in range(times):
        yield chunk


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@pytest.mark.parametrize(("path", "kwargs", "status", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_hostile_input_gets_a_clear_4xx_in_bounded_time_and_memory(
    hclient: httpx.AsyncClient, path: str, kwargs: dict[str, Any], status: int, fragment: str
) -> None:
    kwargs = dict(kwargs)
    if kwargs.get("content") == "streamed":  # no Content-Length: the limit must hold while counting
        kwargs["content"] = _stream(b"[" + b"0," * 100_000, 30)
    if "v2_points" in kwargs:
        kwargs["content"], kwargs["headers"] = _v2_binary_points(kwargs.pop("v2_points"))
    before = _max_rss_mb()
    r = await asyncio.wait_for(hclient.post(path, **kwargs), HANG_GUARD_S)
    assert r.status_code == status, r.text
    assert fragment.lower() in r.text.lower(), r.text
    assert "Traceback" not in r.text and 'File "' not in r.text
    assert _max_rss_mb() - before < RSS_GROWTH_LIMIT_MB
    # The service is still fine afterwards.
    ok = await hclient.post("/hull", json={"points": [[0, 0], [1, 0], [0, 1]]})
    assert ok.status_code == 200
