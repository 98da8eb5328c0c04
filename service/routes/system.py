"""GET /healthz, /readyz, /v1/models, /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from service.engine.registry import Registry
from service.schemas.common import BatchingInfo, Health, ModelInfo, ModelList, Readiness

router = APIRouter(tags=["system"])


def registry(request: Request) -> Registry:
    return request.app.state.registry


@router.get("/healthz", response_model=Health, summary="Liveness: the process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: every enabled model loaded and warmed up",
    responses={503: {"model": Readiness, "description": "Not ready; `models` says which and why"}},
)
async def readyz(request: Request) -> JSONResponse:
    reg = registry(request)
    body = Readiness(ready=reg.ready and not request.app.state.draining, models={n: m.status for n, m in reg.models.items()})
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)


@router.get("/v1/models", response_model=ModelList, summary="Served models with runtime, batching and model-card metrics")
async def list_models(request: Request) -> ModelList:
    infos = []
    for m in registry(request).models.values():
        runtime = m.handler.runtime
        infos.append(
            ModelInfo(
                name=m.name,
                version=m.handler.version,
                status=m.status,
                runtime=m.settings.runtime,
                precision=m.settings.precision,
                device=runtime.device if runtime else "-",
                endpoint=m.endpoint,
                batching=BatchingInfo(
                    max_batch_size=m.settings.max_batch_size, max_wait_ms=m.settings.max_wait_ms, max_queue=m.settings.max_queue
                ),
                card=m.handler.card,
                members=m.handler.members,
            )
        )
    return ModelList(models=infos)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
