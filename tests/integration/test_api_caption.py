"""POST /caption in process, on tiny seeded models: both upload forms, both models, maps, batching, limits."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from service.app import create_app
from tests.helpers import formed_a_batch
from tests.integration.conftest import make_settings, running_client


def image_bytes(w: int, h: int, fmt: str = "PNG", mode: str = "RGB", seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w, len(mode)), dtype=np.uint8)
    img = Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def flat_png(w: int, h: int) -> bytes:
    """A one-colour image: many pixels in few bytes (what a decompression bomb looks like)."""
    buf = io.BytesIO()
    Image.new("RGB", (w, h)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
async def cclient(artifacts_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    # max_wait_ms 50: concurrent uploads, each decoded in a thread first, still meet in one batch
    caption = {"enabled": True, "max_output_words": 6, "max_body_bytes": 300_000, "max_image_pixels": 1_000_000,
               "max_wait_ms": 50}  # fmt: skip
    async for c in running_client(create_app(make_settings(artifacts_dir, caption=caption))):
        yield c


async def upload(client: httpx.AsyncClient, data: bytes, **fields: object) -> httpx.Response:
    form = {k: str(v) for k, v in fields.items()}
    return await client.post("/caption", files={"file": ("a.png", data, "image/png")}, data=form)


async def test_multipart_upload_with_attention_maps_and_overlays(cclient: httpx.AsyncClient) -> None:
    r = await upload(cclient, image_bytes(120, 80), beam_size=3, n_best=2, return_overlays="true")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "caption_photo" and body["image_size"] == [120, 80] and body["grid"] == [8, 8]
    assert 1 <= len(body["captions"]) <= 2 and body["caption"] == body["captions"][0]["text"]
    for cap in body["captions"]:
        words = cap["text"].split()
        assert len(cap["confidence"]) == len(words) and all(0 < c <= 1 for c in cap["confidence"])
        assert [a["word"] for a in cap["attention"]] == words + ["</s>"] * int(cap["finished"])
        for a in cap["attention"]:
            grid = np.array(a["weights"])
            assert grid.shape == (8, 8) and grid.sum() == pytest.approx(1, abs=1e-3)
            r_, c_ = np.unravel_index(grid.argmax(), grid.shape)
            assert a["peak"] == [pytest.approx((c_ + 0.5) / 8, abs=1e-4), pytest.approx((r_ + 0.5) / 8, abs=1e-4)]
            overlay = Image.open(io.BytesIO(base64.b64decode(a["overlay_png_base64"])))
            assert overlay.format == "PNG" and overlay.size == (120, 80)


async def test_json_base64_matches_multipart_and_any_format_works(cclient: httpx.AsyncClient) -> None:
    png = image_bytes(64, 64)
    multipart = (await upload(cclient, png, beam_size=2)).json()
    as_json = await cclient.post("/caption", json={"image_base64": base64.b64encode(png).decode(), "beam_size": 2})
    assert as_json.status_code == 200 and as_json.json()["captions"] == multipart["captions"]
    for data in (image_bytes(300, 200, "JPEG"), image_bytes(50, 90, mode="L"), image_bytes(40, 40, mode="RGBA")):
        r = await upload(cclient, data, return_attention="false")
        assert r.status_code == 200, r.text
        assert r.json()["captions"][0]["attention"] is None


async def test_model_field_picks_the_grounded_model(cclient: httpx.AsyncClient) -> None:
    r = await upload(cclient, image_bytes(96, 96), model="grounded", beam_size=2)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "caption_grounded" and body["grid"] == [12, 12]
    assert len(body["captions"][0]["attention"][0]["weights"]) == 12
    names = [m["name"] for m in (await cclient.get("/v1/models")).json()["models"]]
    assert {"caption_photo", "caption_grounded"} <= set(names)


async def test_batched_equals_single(cclient: httpx.AsyncClient) -> None:
    images = [image_bytes(64 + 10 * k, 64, seed=k) for k in range(4)]
    single = [(await upload(cclient, im, beam_size=2)).json()["captions"][0] for im in images]
    together = [r.json()["captions"][0] for r in await asyncio.gather(*(upload(cclient, im, beam_size=2) for im in images))]
    assert [c["text"] for c in together] == [c["text"] for c in single]
    assert [c["log_prob"] for c in together] == pytest.approx([c["log_prob"] for c in single], abs=1e-4)
    assert formed_a_batch((await cclient.get("/metrics")).text, "caption_photo")  # "together" did batch


@pytest.mark.parametrize(
    ("kwargs", "status", "fragment"),
    [
        ({"files": {"file": ("a.png", b"hello, not an image", "image/png")}}, 422, "not a PNG or JPEG"),
        ({"files": {"file": ("a.png", b"", "image/png")}}, 422, "empty"),
        ({"files": {"file": ("a.png", image_bytes(64, 64)[:200], "image/png")}}, 422, "corrupt or truncated"),
        ({"files": {"file": ("a.gif", b"GIF89a" + bytes(100), "image/gif")}}, 422, "not a PNG or JPEG"),
        ({"files": {"file": ("a.png", flat_png(1100, 1000), "image/png")}}, 413, "limit of 1000000"),
        ({"files": {"image": ("a.png", image_bytes(8, 8), "image/png")}}, 422, "field 'file'"),
        ({"files": {"file": ("a.png", image_bytes(8, 8))}, "data": {"beam_size": "0"}}, 422, "beam_size"),
        ({"files": {"file": ("a.png", image_bytes(8, 8))}, "data": {"beam_size": "2", "n_best": "3"}}, 422, "n_best"),
        ({"files": {"file": ("a.png", image_bytes(8, 8))}, "data": {"beam_size": "99"}}, 422, "limit of 16"),
        ({"files": {"file": ("a.png", image_bytes(8, 8))}, "data": {"max_length": "7"}}, 422, "limit of 6"),
        ({"files": {"file": ("a.png", image_bytes(8, 8))}, "data": {"model": "video"}}, 422, "model"),
        ({"files": {"file": ("a.png", image_bytes(8, 8))}, "data": {"colour": "red"}}, 422, "colour"),
        ({"json": {"image_base64": "***"}}, 422, "not valid base64"),
        ({"json": {"image": "iVBORw0K"}}, 422, "image_base64"),
        ({"content": b"\x89PNG....", "headers": {"content-type": "image/png"}}, 415, "multipart/form-data"),
        ({"files": {"file": ("a.png", image_bytes(400, 400), "image/png")}}, 413, "300000 bytes"),
    ],
)
async def test_bad_input_gets_a_clear_4xx(cclient: httpx.AsyncClient, kwargs: dict, status: int, fragment: str) -> None:
    r = await cclient.post("/caption", **kwargs)
    assert r.status_code == status, r.text
    assert fragment in r.text


async def test_a_disabled_model_is_404(artifacts_dir: Path) -> None:
    caption = {"enabled": False}
    async for c in running_client(create_app(make_settings(artifacts_dir, caption=caption))):
        r = await upload(c, image_bytes(32, 32))
        assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
