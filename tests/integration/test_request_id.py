"""X-Request-ID: echoed when sane, generated otherwise, on every response (errors included) and in error logs."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from service.app import create_app
from service.middleware import RequestIdLogFilter
from tests.integration.conftest import make_settings, running_client

BODY = {"points": [[0, 0], [1, 0], [0.5, 0.4], [1, 1], [0, 1]]}
GENERATED = re.compile(r"[0-9a-f]{32}")


async def test_a_sane_client_id_is_echoed(client: httpx.AsyncClient) -> None:
    for given in ("abc-123", "0f8e:trace/span=7", "x" * 128):
        r = await client.post("/hull", json=BODY, headers={"X-Request-ID": given})
        assert r.status_code == 200 and r.headers["x-request-id"] == given


async def test_an_id_is_generated_when_none_is_given(client: httpx.AsyncClient) -> None:
    ids = {(await client.get("/healthz")).headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3 and all(GENERATED.fullmatch(i) for i in ids)


@pytest.mark.parametrize(
    "hostile",
    [b"x" * 129, b"has space", b"tab\there", b"caf\xc3\xa9", b"bell\x07", b"\x7f", b""],
    ids=["too-long", "space", "tab", "non-ascii", "control", "del", "empty"],
)
async def test_a_hostile_id_is_replaced_not_echoed(client: httpx.AsyncClient, hostile: bytes) -> None:
    r = await client.post("/hull", json=BODY, headers=[(b"X-Request-ID", hostile)])
    assert r.status_code == 200
    assert GENERATED.fullmatch(r.headers["x-request-id"])
    assert r.headers.get_list("x-request-id") == [r.headers["x-request-id"]]  # one header, ours


async def test_error_responses_carry_the_id(artifacts_dir: Path) -> None:
    settings = make_settings(artifacts_dir, max_queue=1, max_batch_size=1).model_copy(
        update={"api_key": SecretStr("k"), "max_body_bytes": 2048}
    )
    key = {"X-API-Key": "k"}
    async for c in running_client(create_app(settings)):
        cases = [
            (401, c.post("/hull", json=BODY, headers={"X-Request-ID": "e401"})),
            (404, c.get("/nowhere", headers={**key, "X-Request-ID": "e404"})),
            (405, c.get("/hull", headers={**key, "X-Request-ID": "e405"})),
            (413, c.post("/hull", content=b"[" * 4096, headers={**key, "X-Request-ID": "e413"})),
            (422, c.post("/hull", json={"points": [[0, 0]]}, headers={**key, "X-Request-ID": "e422"})),
        ]
        for status, request in cases:
            r = await request
            assert r.status_code == status and r.headers["x-request-id"] == f"e{status}", r.text
        # A full queue (max_queue=1): the 503s carry both Retry-After and their own ids.
        ids = [f"burst-{i}" for i in range(16)]
        rs = await asyncio.gather(*(c.post("/hull", json=BODY, headers={**key, "X-Request-ID": i}) for i in ids))
        assert [r.headers["x-request-id"] for r in rs] == ids
        shed = [r for r in rs if r.status_code == 503]
        assert shed and all(r.headers["retry-after"] for r in shed)


async def test_an_unhandled_error_gets_a_500_with_the_id_and_logs_it(
    artifacts_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(artifacts_dir))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    caplog.handler.addFilter(RequestIdLogFilter())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            r = await c.get("/boom", headers={"X-Request-ID": "trace-500"})
    assert r.status_code == 500 and r.headers["x-request-id"] == "trace-500"
    assert "bug" not in r.text
    logged = [rec for rec in caplog.records if rec.getMessage().startswith("unhandled error on GET /boom")]
    assert logged and logged[0].request_id == "trace-500"  # type: ignore[attr-defined]
