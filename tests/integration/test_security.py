"""Optional API key and CORS: both off by default; on, they guard every model route and nothing else."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from service.app import create_app
from tests.integration.conftest import make_settings, running_client

BODY = {"points": [[0, 0], [1, 0], [0.5, 0.4], [1, 1], [0, 1]]}


async def test_api_key_guards_model_routes_but_not_probes_or_metrics(artifacts_dir: Path) -> None:
    settings = make_settings(artifacts_dir).model_copy(update={"api_key": SecretStr("s3cret")})
    async for c in running_client(create_app(settings)):
        missing = await c.post("/hull", json=BODY)
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
        assert "s3cret" not in missing.text
        assert (await c.post("/hull", json=BODY, headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert (await c.post("/hull", json=BODY, headers={"Authorization": "Bearer s3cret"})).status_code == 200
        assert (await c.post("/hull", json=BODY, headers={"X-API-Key": "s3cret"})).status_code == 200
        assert (await c.get("/v1/models")).status_code == 401
        assert (await c.post("/v2/models/hull/infer", json={"inputs": []})).status_code == 401
        for open_path in ("/healthz", "/readyz", "/metrics", "/v2/health/ready"):
            assert (await c.get(open_path)).status_code == 200, open_path
        assert 'status="401"' in (await c.get("/metrics")).text  # refusals are counted


async def test_cors_is_off_by_default_and_answers_preflight_when_configured(artifacts_dir: Path) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    async for c in running_client(create_app(make_settings(artifacts_dir))):
        r = await c.post("/hull", json=BODY, headers={"Origin": "https://app.example"})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    settings = make_settings(artifacts_dir).model_copy(
        update={"cors_origins": ["https://app.example"], "api_key": SecretStr("k")}
    )
    async for c in running_client(create_app(settings)):
        r = await c.options("/hull", headers=preflight)  # a browser's preflight carries no key
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://app.example"
        r = await c.post("/hull", json=BODY, headers={"Origin": "https://app.example", "X-API-Key": "k"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://app.example"
