"""The Open Inference Protocol (KServe v2) REST surface, beside our own endpoints, so existing v2 clients
(tritonclient.http, perf_analyzer) work unchanged.

Every served model is a v2 model whose tensors are its natural inputs and outputs (text, encoded audio or
image, points), not raw graph tensors, as its handler declares them (`v2_inputs`, `v2_outputs`):

| model | inputs | outputs |
|---|---|---|
| hull | POINTS FP32 [n, 2] | HULL INT64 [k] |
| translate | TEXT BYTES [b] (German sentences) | TRANSLATION BYTES [b] |
| speech | AUDIO BYTES [1] (a WAV file) | TEXT BYTES [1] |
| caption_photo, caption_grounded | IMAGE BYTES [1] (a PNG or JPEG file) | CAPTION BYTES [1] |
| sentiment | TEXT BYTES [1] (a sentence) | LABEL INT64 [1], PROBS FP32 [1, 5] |

An infer request is read by the tensor codec (service/v2.py), turned into the task's request by the
handler, and served by the same driver as the task's own endpoint (service/engine/driver.py): same
limits, batching, deadlines and errors, so answers are the same. Errors are `{"error": "..."}` with a
4xx/5xx status, as the protocol asks.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from service import __version__
from service.engine.driver import drive
from service.engine.registry import ServedModel
from service.errors import ServiceError
from service.schemas.kserve import (
    InferRequest,
    InferResponse,
    ModelConfig,
    ModelMetadata,
    ServerMetadata,
    V2ErrorResponse,
    V2OrServiceError,
    inline_schema,
)
from service.tasks import MODELS
from service.v2 import HEADER, Tensor, V2Error, output_json, read_infer_request, read_inputs

router = APIRouter(prefix="/v2", tags=["open inference protocol (KServe v2)"])


def _served(request: Request, name: str) -> ServedModel[Any, Any, Any, Any]:
    if name not in MODELS or name not in request.app.state.registry.models:
        raise V2Error(f"model {name!r} is not served here; GET /v1/models lists the served models", 404)
    return request.app.state.registry.models[name]


def _tensors(ts: tuple[Tensor, ...]) -> list[dict[str, Any]]:
    return [{"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in ts]


async def v2_error_handler(_: Request, exc: Exception) -> JSONResponse:
    """Installed by create_app: a V2Error raised by any /v2 route becomes the protocol's error body."""
    assert isinstance(exc, V2Error)
    return _error(exc)


def _error(exc: V2Error | ServiceError) -> JSONResponse:
    if isinstance(exc, ServiceError):
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)
    return JSONResponse({"error": str(exc)}, status_code=exc.status)


ModelName = Annotated[str, Path(description="A v2 model; GET /v1/models lists those served here",
                                json_schema_extra={"enum": list(MODELS)})]  # fmt: skip
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": V2OrServiceError, "description": "No such model served here"}}
INFER_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": InferResponse, "description": "JSON outputs; with binary outputs, the JSON header (its length in "
          f"{HEADER}) then the outputs' bytes",
          "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
    400: {"model": V2ErrorResponse, "description": "Not a valid inference request, or tensors the model does not take"},
    **NOT_FOUND,
    413: {"model": V2OrServiceError, "description": "Request body, or an image in it, over the server's limits"},
    422: {"model": V2ErrorResponse, "description": "Tensors the model takes, with values it cannot serve"},
    503: {"model": V2ErrorResponse, "description": "Not ready, shutting down, or queue full (see Retry-After)"},
    504: {"model": V2ErrorResponse, "description": "Waited in the queue past the request deadline"},
}  # fmt: skip


def _no_body(**descriptions: str) -> dict[str, Any]:
    """openapi_extra for answers that are a bare status code (FastAPI's `responses` would add a JSON body)."""
    return {"responses": {code.lstrip("_"): {"description": text} for code, text in descriptions.items()}}


@router.get("", summary="Server metadata", response_model=ServerMetadata)
async def server_metadata() -> dict[str, Any]:
    return {"name": "seq2serve", "version": __version__, "extensions": ["binary_tensor_data"]}


@router.get("/health/live", summary="Liveness", response_class=Response, openapi_extra=_no_body(_200="Live"))
async def live() -> Response:
    return Response(status_code=200)


@router.get("/health/ready", summary="Readiness: every enabled model ready", response_class=Response,
            openapi_extra=_no_body(_200="Ready", _503="Not ready, or shutting down"))  # fmt: skip
async def ready(request: Request) -> Response:
    return Response(status_code=200 if request.app.state.registry.ready and not request.app.state.draining else 503)


@router.get("/models/{name}", summary="Model metadata: its input and output tensors",
            responses={200: {"model": ModelMetadata}, **NOT_FOUND})  # fmt: skip
async def model_metadata(name: ModelName, request: Request) -> JSONResponse:
    served = _served(request, name)  # V2Error -> v2_error_handler
    h = served.handler
    return JSONResponse({"name": name, "versions": [h.version], "platform": f"seq2serve_{served.settings.runtime}",
                         "inputs": _tensors(h.v2_inputs), "outputs": _tensors(h.v2_outputs)})  # fmt: skip


TRITON_TYPES = {"FP32": "TYPE_FP32", "FP64": "TYPE_FP64", "INT64": "TYPE_INT64", "INT32": "TYPE_INT32", "BOOL": "TYPE_BOOL",
                "BYTES": "TYPE_STRING"}  # fmt: skip


@router.get("/models/{name}/config", summary="Model configuration in Triton's form (perf_analyzer reads it)",
            responses={200: {"model": ModelConfig}, **NOT_FOUND})  # fmt: skip
async def model_config(name: ModelName, request: Request) -> JSONResponse:
    served = _served(request, name)  # V2Error -> v2_error_handler
    h = served.handler
    tensors = lambda ts: [{"name": t.name, "data_type": TRITON_TYPES[t.datatype], "dims": list(t.shape)} for t in ts]  # noqa: E731
    # max_batch_size 0: the tensors carry no batch dimension; the server batches requests itself.
    return JSONResponse({"name": name, "platform": f"seq2serve_{served.settings.runtime}", "backend": "seq2serve",
                         "max_batch_size": 0, "input": tensors(h.v2_inputs), "output": tensors(h.v2_outputs)})  # fmt: skip


@router.get("/models/{name}/ready", summary="Model readiness", response_class=Response, responses=NOT_FOUND,
            openapi_extra=_no_body(_200="Ready", _503="Loading, or failed to load"))  # fmt: skip
async def model_ready(name: ModelName, request: Request) -> Response:
    served = _served(request, name)  # V2Error -> v2_error_handler
    return Response(status_code=200 if served.status == "ready" else 503)


INFER_BODY = {
    "parameters": [{"name": HEADER, "in": "header", "required": False, "schema": {"type": "integer", "minimum": 0},
                    "description": "Binary tensor extension: the length of the JSON header that starts the body"}],
    "requestBody": {"required": True, "description": f"JSON; or in the binary tensor extension, the JSON header ({HEADER} "
                    "bytes) then the inputs' bytes",
                    "content": {"application/json": {"schema": inline_schema(InferRequest)},
                                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
}  # fmt: skip


@router.post("/models/{name}/infer", summary="Inference: JSON tensors or the binary tensor extension",
             responses=INFER_RESPONSES, openapi_extra=INFER_BODY)  # fmt: skip
async def infer(name: ModelName, request: Request) -> Response:
    try:
        served = _served(request, name)
        req, binary = await read_infer_request(request)
        handler = served.ready_handler()
        tensors = read_inputs(req, binary, handler.v2_inputs, name)
        try:
            task_request = handler.v2_request(tensors)
        except ValidationError as e:
            raise V2Error(f"invalid input: {e.errors(include_url=False)[0]['msg']}") from e
        response = await drive(request, name, task_request)
        body, raw = output_json(handler.v2_response(response), handler.v2_outputs, req)
    except (V2Error, ServiceError) as e:
        return _error(e)
    body |= {"model_name": name, "model_version": served.handler.version}
    if "id" in req:
        body["id"] = req["id"]
    head = json.dumps(body).encode()
    if not raw:
        return Response(head, media_type="application/json")
    return Response(head + raw, media_type="application/octet-stream", headers={HEADER: str(len(head))})
