"""Pure ASGI middleware: request ids, request-body size limit, API key, per-request metrics, and
cancelling a request's work when its client goes away.

Pure ASGI (not BaseHTTPMiddleware) so that streaming bodies are counted as they arrive and client
disconnects reach the route as a cancellation (DisconnectMiddleware), which drops its queued work.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hmac
import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import Overloaded, PayloadTooLarge, RequestTimeout, error_body
from service.metrics import Metrics
from service.routes.ui import UI_PREFIX, is_page
from service.tasks import MODELS, TASKS

REQUEST_ID_HEADER = b"x-request-id"
MAX_REQUEST_ID_CHARS = 128
# The current request's id, for log lines written while it is handled (RequestIdLogFilter).
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def sane_request_id(value: bytes | None) -> str | None:
    """The client's id if it is 1..128 visible ASCII characters (no spaces, no control characters: it goes
    into log lines and a response header), else None."""
    if value is None or not 0 < len(value) <= MAX_REQUEST_ID_CHARS:
        return None
    if not all(0x21 <= b <= 0x7E for b in value):
        return None
    return value.decode("ascii")


class RequestIdMiddleware:
    """X-Request-ID on every response: the client's own when it is sane (see `sane_request_id`), else a
    fresh uuid4 hex. The id is also in `scope["state"]["request_id"]` and, through `request_id_var`, in the
    log lines written while the request is handled. It must wrap everything, Starlette's 500 handler
    included (app.py puts it outside the whole middleware stack)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = next((v for k, v in scope.get("headers", []) if k == REQUEST_ID_HEADER), None)
        request_id = sane_request_id(given) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        header = (REQUEST_ID_HEADER, request_id.encode("ascii"))

        async def send_with_id(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                headers = [h for h in msg.get("headers", []) if h[0].lower() != REQUEST_ID_HEADER]
                msg = {**msg, "headers": [*headers, header]}
            await send(msg)

        token = request_id_var.set(request_id)
        await self.app(scope, receive, send_with_id)
        # Reset only on success: an exception goes on to the server's own error log line, which should
        # still name the request (each request runs in its own task, so nothing leaks to the next one).
        request_id_var.reset(token)


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every log record: the id of the request being handled, or "-"."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


async def _send_error(send: Send, status: int, code: str, message: str, retry_after_s: int | None = None) -> None:
    body = json.dumps(error_body(code, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after_s is not None:
        headers.append((b"retry-after", str(retry_after_s).encode()))
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
                    # Raised inside whatever reads the body; the app's error handlers answer 413 with it.
                    raise PayloadTooLarge(message)
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except PayloadTooLarge:  # nothing inside answered it
            if not started:
                await _send_error(send, 413, "payload_too_large", message)


# Health checks and /metrics: open without the API key and never shed, so probes and Prometheus keep
# answering whatever the load.
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/v2/health/live", "/v2/health/ready"})


class ApiKeyMiddleware:
    """401 unless the request carries the API key (`Authorization: Bearer <key>` or `X-API-Key`).
    Health checks and /metrics stay open, so probes and Prometheus need no secret, and so does the web
    page (it asks for the key and sends it with its API calls)."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app, self.key = app, api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS or is_page(scope["path"]):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers", []))
        auth = headers.get(b"authorization", b"")
        given = auth[7:] if auth[:7].lower() == b"bearer " else headers.get(b"x-api-key", b"")
        if not hmac.compare_digest(given, self.key):  # constant time: no key guessing by timing
            return await _send_error(send, 401, "unauthorized", "missing or wrong API key: send Authorization: Bearer <key>")
        await self.app(scope, receive, send)


class AdmissionMiddleware:
    """Bounds how long a request may take to arrive and how many are handled at once.

    - A request's body must arrive within `read_timeout_s` of its headers; else 408 with the connection
      closed (the header deadline is the HTTP protocol's: service/http.py), so a client that stalls an
      upload cannot hold its connection.
    - Requests still being read are counted apart (`seq2serve_reading_requests`): only a request whose
      body has arrived takes one of the `limit` in-flight slots, so stalled uploads cannot take the slots
      complete requests need. Past the limit: 503 + Retry-After, before any work. A request without a body
      takes its slot at once. Probes and /metrics are exempt, so an overloaded server still answers them.
    """

    def __init__(self, app: ASGIApp, limit: int, read_timeout_s: float, metrics: Metrics | None = None) -> None:
        self.app, self.limit, self.read_timeout_s, self.metrics = app, limit, read_timeout_s, metrics
        self.active = 0
        self.reading = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS:
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers", []))
        has_body = headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers
        deadline = time.monotonic() + self.read_timeout_s
        state = {"admitted": False, "reading": has_body}
        if has_body:
            self._count_reading(1)
        elif self.active >= self.limit:
            return await _send_error(send, 503, "overloaded", self._full(), retry_after_s=1)
        else:
            self.active += 1
            state["admitted"] = True

        async def admitting_receive() -> Message:
            if not state["reading"]:
                return await receive()
            try:
                msg = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                self._done_reading(state)
                raise RequestTimeout(f"the request body did not arrive within {self.read_timeout_s:g} s") from None
            if msg["type"] == "http.disconnect" or not msg.get("more_body", False):
                self._done_reading(state)
                if msg["type"] == "http.request":
                    self._admit()  # raises Overloaded past the limit
                    state["admitted"] = True
            return msg

        try:
            await self.app(scope, admitting_receive, send)
        finally:
            self._done_reading(state)
            if state["admitted"]:
                self.active -= 1

    def _admit(self) -> None:
        if self.active >= self.limit:
            raise Overloaded(self._full())  # raised where the app reads the body: its error handlers answer
        self.active += 1

    def _full(self) -> str:
        return f"this server is handling its limit of {self.limit} requests; retry shortly"

    def _done_reading(self, state: dict[str, bool]) -> None:
        if state["reading"]:
            state["reading"] = False
            self._count_reading(-1)

    def _count_reading(self, delta: int) -> None:
        self.reading += delta
        if self.metrics is not None:
            self.metrics.set_reading(self.reading)


# Task endpoints -> the `model` label of their request metrics (service/taskspec.py TaskSpec.metrics_label).
TASK_LABELS = {task.path: task.metrics_label for task in TASKS}
SYSTEM_PATHS = PROBE_PATHS | {"/v1/models", "/v2"}
# /v2/models/{model}[/ready|/config|/infer]: labelled by the route template, with the model as `model`.
V2_MODEL_ROUTE = re.compile(r"/v2/models/([^/]+)(/ready|/config|/infer)?")


def route_labels(path: str) -> tuple[str, str]:
    """(endpoint, model) labels of a request path. A bounded set: any other path (typos, scanners) is
    counted as "other", and a v2 model name that is not served here as model "-"."""
    if path in TASK_LABELS:
        return path, TASK_LABELS[path]
    if path in SYSTEM_PATHS:
        return path, "-"
    if is_page(path):
        return "/" if path == "/" else UI_PREFIX, "-"
    v2 = V2_MODEL_ROUTE.fullmatch(path)
    if v2:
        model = v2.group(1)
        return "/v2/models/{model}" + (v2.group(2) or ""), model if model in MODELS else "-"
    return "other", "-"


class MetricsMiddleware:
    """Counts requests by model, endpoint (route template) and status, and their latency; tracks in-flight
    requests."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        endpoint, model = route_labels(scope["path"])
        status: dict[str, Any] = {"code": 500, "started": False}  # 500: an exception propagates before a response
        start = time.monotonic()

        async def recording_send(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                status["code"], status["started"] = msg["status"], True
            await send(msg)

        self.metrics.add_in_flight(endpoint, 1)
        try:
            await self.app(scope, receive, recording_send)
            if not status["started"]:  # the client went away and the request was cancelled (nginx's 499)
                status["code"] = 499
        finally:
            self.metrics.add_in_flight(endpoint, -1)
            self.metrics.observe_request(model, endpoint, status["code"], time.monotonic() - start)


class DisconnectMiddleware:
    """Cancels the request's handler when its client disconnects before the response is complete, so the
    route's wait on the batcher is cancelled and the batcher drops the queued work instead of computing it.

    The handler runs in a child task. Once it has read the whole body, a watcher waits for the server's
    `http.disconnect`; later `receive()` calls from the handler wait for that same event, so the two never
    compete for messages. A response that has completed is never cancelled.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body_read, disconnected = asyncio.Event(), asyncio.Event()
        response_complete = False

        async def app_receive() -> Message:
            if body_read.is_set():
                await disconnected.wait()
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.disconnect":
                disconnected.set()
            elif not msg.get("more_body", False):
                body_read.set()
            return msg

        async def app_send(msg: Message) -> None:
            nonlocal response_complete
            if msg["type"] == "http.response.body" and not msg.get("more_body", False):
                response_complete = True
            await send(msg)

        async def watch() -> None:
            await body_read.wait()
            while (await receive())["type"] != "http.disconnect":
                pass
            disconnected.set()  # also once the response is complete: the server then reports the cycle over

        handler = asyncio.ensure_future(self.app(scope, app_receive, app_send))
        watcher = asyncio.ensure_future(watch())
        try:
            await asyncio.wait({handler, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if not handler.done() and not response_complete:
                handler.cancel()  # the client is gone: nobody will read the answer
                with contextlib.suppress(asyncio.CancelledError):
                    await handler
                return
            await handler  # finished, or finishing after its response: re-raise its exception, if any
        finally:
            for task in (handler, watcher):
                task.cancel()
