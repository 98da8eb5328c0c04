"""Pure ASGI middleware: request-body size limit, and per-request metrics.

Pure ASGI (not BaseHTTPMiddleware) so that streaming bodies are counted as they arrive and client
disconnects propagate to the route (which cancels its queued work).
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_body
from service.metrics import Metrics


class _TooLarge(Exception):
    pass


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for bodies over the limit, by Content-Length up front or by counting a streamed body.

    `per_path` overrides `max_bytes` for given paths (audio uploads need more than JSON does).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, per_path: dict[str, int] | None = None) -> None:
        self.app, self.max_bytes, self.per_path = app, max_bytes, per_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.per_path.get(scope["path"], self.max_bytes)
        message = f"request body is larger than this server's limit of {limit} bytes"
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return await _send_error(send, 413, "payload_too_large", message)
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_error(send, 413, "payload_too_large", message)


class ApiKeyMiddleware:
    """401 unless the request carries the API key (`Authorization: Bearer <key>` or `X-API-Key`).
    Health checks and /metrics stay open, so probes and Prometheus need no secret."""

    OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/v2/health/live", "/v2/health/ready"})

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app, self.key = app, api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.OPEN_PATHS:
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers", []))
        auth = headers.get(b"authorization", b"")
        given = auth[7:] if auth[:7].lower() == b"bearer " else headers.get(b"x-api-key", b"")
        if not hmac.compare_digest(given, self.key):  # constant time: no key guessing by timing
            return await _send_error(send, 401, "unauthorized", "missing or wrong API key: send Authorization: Bearer <key>")
        await self.app(scope, receive, send)


class MetricsMiddleware:
    """Counts requests by model, endpoint and status, and their latency; tracks in-flight requests."""

    SYSTEM_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/v1/models"})

    def __init__(self, app: ASGIApp, metrics: Metrics, endpoint_models: dict[str, str]) -> None:
        self.app, self.metrics, self.endpoint_models = app, metrics, endpoint_models

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path: str = scope["path"]
        model = self.endpoint_models.get(path)
        # A bounded label set: any other path (typos, scanners) is counted as "other".
        endpoint = path if model or path in self.SYSTEM_PATHS else "other"
        status: dict[str, Any] = {"code": 500}
        start = time.monotonic()

        async def recording_send(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                status["code"] = msg["status"]
            await send(msg)

        self.metrics.add_in_flight(endpoint, 1)
        try:
            await self.app(scope, receive, recording_send)
        finally:
            self.metrics.add_in_flight(endpoint, -1)
            self.metrics.observe_request(model or "-", endpoint, status["code"], time.monotonic() - start)
