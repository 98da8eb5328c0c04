"""create_app(settings): the FastAPI app, its lifespan (load, warm up, batch, drain) and routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from service import __version__
from service.engine.registry import Registry
from service.errors import install_error_handlers
from service.metrics import Metrics
from service.middleware import (
    AdmissionMiddleware,
    ApiKeyMiddleware,
    BodyLimitMiddleware,
    DisconnectMiddleware,
    MetricsMiddleware,
    RequestIdMiddleware,
)
from service.routes import kserve, system, ui
from service.settings import ServerSettings, get_settings
from service.tasks import TASKS
from service.v2 import V2Error

log = logging.getLogger("seq2serve")

DESCRIPTION = """Attention-based sequence models behind one REST API, with dynamic batching and
Prometheus metrics. Errors share one shape: `{"error": {"code", "message", "details"}}`."""


class App(FastAPI):
    """FastAPI with RequestIdMiddleware around its whole middleware stack. Starlette always puts its own
    ServerErrorMiddleware (which answers unhandled exceptions with 500) outermost, so a middleware added
    with add_middleware could not put X-Request-ID on that 500."""

    def build_middleware_stack(self) -> ASGIApp:
        return RequestIdMiddleware(super().build_middleware_stack())


def body_limits(settings: ServerSettings) -> dict[str, int]:
    """Path -> request body limit, for the models that take more than JSON does (audio, images): the same
    limit on the task's endpoint and on each of its models' /v2 infer routes."""
    limits: dict[str, int] = {}
    for task in TASKS:
        for model in task.models:
            limit = settings.model(model.name).max_body_bytes
            if limit is not None:
                limits[task.path] = max(limits.get(task.path, 0), limit)
                limits[f"/v2/models/{model.name}/infer"] = limit
    return limits


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.draining = False  # a restarted app (tests do that) serves again
        await app.state.registry.start()
        yield
        # Uvicorn has already stopped accepting and waited for open requests; finish queued work.
        app.state.draining = True
        await app.state.registry.stop(settings.drain_timeout_s)
        log.info("seq2serve: batchers drained and stopped")

    app = App(title="seq2serve", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.registry = Registry(settings, metrics)
    app.state.draining = False
    install_error_handlers(app)
    app.include_router(system.router)
    for task in TASKS:
        app.include_router(task.router)
    app.include_router(kserve.router)
    app.include_router(ui.router)
    app.mount(ui.UI_PREFIX.rstrip("/"), ui.static_files(), name="ui")
    app.add_exception_handler(V2Error, kserve.v2_error_handler)
    app.add_middleware(DisconnectMiddleware)  # innermost: a cancelled request is still counted (as 499)
    if settings.api_key is not None:
        app.add_middleware(ApiKeyMiddleware, api_key=settings.api_key.get_secret_value())
    app.add_middleware(AdmissionMiddleware, limit=settings.max_in_flight, read_timeout_s=settings.read_timeout_s, metrics=metrics)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    if settings.cors_origins:  # outside the key check, so browsers' preflight requests get their answer
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type"])  # fmt: skip
    per_path = body_limits(settings)  # audio and images need more room than JSON does
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, per_path=per_path)  # outermost: runs first
    return app
