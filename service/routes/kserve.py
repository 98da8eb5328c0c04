"""The Open Inference Protocol (KServe v2) REST surface, beside our own endpoints, so existing v2 clients
(tritonclient.http, perf_analyzer) work unchanged.

Each served model is a v2 model whose tensors are its natural inputs and outputs (text, encoded audio or
image, points), not raw graph tensors: a v2 request goes through the same handler, validation and batcher
(or step scheduler) as the task's own endpoint, so answers are the same. Per model:

| model | inputs | outputs |
|---|---|---|
| hull | POINTS FP32 [n, 2] | HULL INT64 [k] |
| translate | TEXT BYTES [b] (German sentences) | TRANSLATION BYTES [b] |
| speech | AUDIO BYTES [1] (a WAV file) | TEXT BYTES [1] |
| caption_photo, caption_grounded | IMAGE BYTES [1] (a PNG or JPEG file) | CAPTION BYTES [1] |
| sentiment | TEXT BYTES [1] (a sentence) | LABEL INT64 [1], PROBS FP32 [1, 5] |

JSON tensors and the binary tensor extension (`Inference-Header-Content-Length`) are both accepted; an
output comes back binary when the request asks (`binary_data` on the output, or `binary_data_output`).
Errors are `{"error": "..."}` with a 4xx/5xx status, as the protocol asks.
"""

from __future__ import annotations

import asyncio
import json
import math
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from service import __version__
from service.errors import ServiceError, json_loads
from service.schemas.caption import CaptionOptions
from service.schemas.hull import HullRequest
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
from service.schemas.sentiment import SentimentRequest
from service.schemas.speech import TranscribeOptions
from service.schemas.translate import TranslateRequest

router = APIRouter(prefix="/v2", tags=["open inference protocol (KServe v2)"])
HEADER = "Inference-Header-Content-Length"
DTYPES = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32, "BOOL": np.bool_}


class V2Error(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Tensor:
    name: str
    datatype: str
    shape: list[int]


Infer = Callable[[Request, Any, dict[str, np.ndarray]], Awaitable[dict[str, np.ndarray]]]


@dataclass(frozen=True)
class V2Model:
    inputs: list[Tensor]
    outputs: list[Tensor]
    infer: Infer


# --- per-model adapters: v2 tensors -> the task's handler -> v2 tensors ------------------------------------------


def _one_bytes(tensors: dict[str, np.ndarray], name: str) -> bytes:
    value = tensors[name]
    if value.size != 1:
        raise V2Error(f"input {name}: send exactly one element (got shape {list(value.shape)})")
    return bytes(value.reshape(-1)[0])


async def _submit(request: Request, served: Any, item: Any) -> Any:
    return await served.submit(item, request.app.state.settings.request_timeout_s)


async def _hull(request: Request, served: Any, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    points = t["POINTS"]
    if points.ndim != 2 or points.shape[1] != 2:
        raise V2Error(f"input POINTS: shape must be [n, 2] (got {list(points.shape)})")
    handler = served.ready_handler()
    req = HullRequest(points=[tuple(p) for p in points.astype(np.float64).tolist()])  # type: ignore[misc]
    item = handler.validate(req)
    response = handler.respond(item, await _submit(request, served, item), False)
    return {"HULL": np.asarray(response.hull, dtype=np.int64)}


async def _translate(request: Request, served: Any, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    texts = [bytes(x).decode("utf-8") for x in t["TEXT"].reshape(-1)]
    handler = served.ready_handler()
    req = TranslateRequest(text=texts)
    items = handler.validate(req)
    outputs = await asyncio.gather(*(_submit(request, served, it) for it in items))
    response = handler.respond(items, list(outputs), req)
    return {"TRANSLATION": np.array([r.translations[0].text.encode() for r in response.results], dtype=np.object_)}


async def _speech(request: Request, served: Any, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    handler, opts = served.ready_handler(), TranscribeOptions()
    item = await asyncio.to_thread(handler.prepare, _one_bytes(t, "AUDIO"), opts)
    response = handler.respond(item, await _submit(request, served, item), opts)
    return {"TEXT": np.array([response.text.encode()], dtype=np.object_)}


async def _caption(request: Request, served: Any, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    handler = served.ready_handler()
    opts = CaptionOptions(model=handler.kind, return_attention=False)
    item = await asyncio.to_thread(handler.prepare, _one_bytes(t, "IMAGE"), opts)
    response = handler.respond(item, await _submit(request, served, item), opts)
    return {"CAPTION": np.array([response.caption.encode()], dtype=np.object_)}


async def _sentiment(request: Request, served: Any, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    handler = served.ready_handler()
    req = SentimentRequest(text=_one_bytes(t, "TEXT").decode("utf-8"))
    item = handler.validate(req)
    response = handler.respond(item, await _submit(request, served, item), req)
    return {"LABEL": np.array([response.label], dtype=np.int64), "PROBS": np.array([response.probs], dtype=np.float32)}


_CAPTION = V2Model([Tensor("IMAGE", "BYTES", [1])], [Tensor("CAPTION", "BYTES", [1])], _caption)
MODELS: dict[str, V2Model] = {
    "hull": V2Model([Tensor("POINTS", "FP32", [-1, 2])], [Tensor("HULL", "INT64", [-1])], _hull),
    "translate": V2Model([Tensor("TEXT", "BYTES", [-1])], [Tensor("TRANSLATION", "BYTES", [-1])], _translate),
    "speech": V2Model([Tensor("AUDIO", "BYTES", [1])], [Tensor("TEXT", "BYTES", [1])], _speech),
    "caption_photo": _CAPTION,
    "caption_grounded": _CAPTION,
    "sentiment": V2Model(
        [Tensor("TEXT", "BYTES", [1])], [Tensor("LABEL", "INT64", [1]), Tensor("PROBS", "FP32", [1, 5])], _sentiment
    ),
}

# --- tensors: JSON and the binary extension -----------------------------------------------------------------


def _decode_bytes_elements(raw: bytes, count: int, name: str) -> list[bytes]:
    """BYTES in the binary extension: each element is a 4-byte little-endian length, then its bytes."""
    out, pos = [], 0
    for _ in range(count):
        if pos + 4 > len(raw):
            raise V2Error(f"input {name}: binary BYTES data ends early")
        (n,) = struct.unpack_from("<I", raw, pos)
        out.append(raw[pos + 4 : pos + 4 + n])
        pos += 4 + n
    if pos != len(raw):
        raise V2Error(f"input {name}: binary BYTES data has {len(raw) - pos} bytes left over")
    return out


def _encode_bytes_elements(values: np.ndarray) -> bytes:
    return b"".join(struct.pack("<I", len(v)) + bytes(v) for v in values.reshape(-1))


def _input_tensor(spec: dict[str, Any], binary: memoryview | None, offset: int) -> tuple[str, np.ndarray, int]:
    try:
        name, datatype, shape = str(spec["name"]), str(spec["datatype"]), [int(d) for d in spec["shape"]]
    except (KeyError, TypeError, ValueError) as e:
        raise V2Error("each input needs name, datatype and shape") from e
    if any(d < 0 for d in shape):
        raise V2Error(f"input {name}: shape {shape} has a negative dimension")
    count = math.prod(shape)  # Python ints: no int64 overflow for absurd shapes (1 for a scalar)
    size = (spec.get("parameters") or {}).get("binary_data_size")
    if size is not None:
        if binary is None or offset + int(size) > len(binary):
            raise V2Error(f"input {name}: binary_data_size {size} is past the end of the request body")
        raw = bytes(binary[offset : offset + int(size)])
        offset += int(size)
        if datatype == "BYTES":
            values = np.array(_decode_bytes_elements(raw, count, name), dtype=np.object_)
        elif datatype in DTYPES:
            dt = np.dtype(DTYPES[datatype]).newbyteorder("<")
            if len(raw) != count * dt.itemsize:
                raise V2Error(f"input {name}: {len(raw)} bytes is not {count} x {datatype}")
            values = np.frombuffer(raw, dtype=dt)
        else:
            raise V2Error(f"input {name}: datatype {datatype} is not supported")
    else:
        data = spec.get("data")
        if data is None:
            raise V2Error(f"input {name}: no data (and no binary_data_size)")
        if datatype == "BYTES":
            flat = _flatten(data)
            if not all(isinstance(x, str) for x in flat):
                raise V2Error(f"input {name}: BYTES data must be strings (a flat or nested list of them)")
            values = np.array([x.encode() for x in flat], dtype=np.object_)
        elif datatype in DTYPES:
            try:  # a value past the datatype's range is an error, not inf or a wrapped integer
                with np.errstate(over="raise", invalid="raise"):
                    values = np.asarray(data, dtype=DTYPES[datatype]).reshape(-1)
            except (TypeError, ValueError, OverflowError, FloatingPointError) as e:
                raise V2Error(f"input {name}: data is not {datatype}") from e
        else:
            raise V2Error(f"input {name}: datatype {datatype} is not supported")
    if values.size != count:
        raise V2Error(f"input {name}: {values.size} elements do not fill shape {shape}")
    try:
        return name, values.reshape(shape), offset
    except ValueError as e:  # an empty tensor whose other dimensions multiply past what numpy can index
        raise V2Error(f"input {name}: shape {shape} is too large") from e


def _flatten(data: list[Any]) -> list[Any]:
    """The elements of a flat or nested JSON list, row-major (np.asarray would keep ragged rows as objects)."""
    out: list[Any] = []
    for x in data:
        out.extend(_flatten(x) if isinstance(x, list) else [x])
    return out


async def _read_infer_request(request: Request) -> tuple[dict[str, Any], memoryview | None]:
    body = await request.body()
    header_len = request.headers.get(HEADER)
    if header_len is None:
        head, binary = body, None
    else:
        if not header_len.isdigit() or int(header_len) > len(body):
            raise V2Error(f"{HEADER}: {header_len!r} is not a length within the body")
        head, binary = body[: int(header_len)], memoryview(body)[int(header_len) :]
    try:
        parsed = json_loads(head)
    except ServiceError as e:
        raise V2Error(f"the inference request is not valid JSON: {e.message}") from e
    if not isinstance(parsed, dict) or not isinstance(parsed.get("inputs"), list):
        raise V2Error("the inference request needs an 'inputs' list")
    try:  # every field the code below reads has its type checked here: a wrong one is a 400 that names it
        req = InferRequest.model_validate(parsed)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise V2Error(f"invalid inference request: {where}: {first['msg']}") from e
    # exclude_unset: fields keep meaning "absent" when they were (no `id` echoed unless one was sent)
    return req.model_dump(exclude_unset=True), binary


def _output_json(tensors: dict[str, np.ndarray], model: V2Model, req: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    wanted = {o.get("name"): o for o in req.get("outputs") or [] if isinstance(o, dict)}
    all_binary = bool((req.get("parameters") or {}).get("binary_data_output", False))
    outputs, binary = [], b""
    for spec in model.outputs:
        if wanted and spec.name not in wanted:
            continue
        value = tensors[spec.name]
        entry: dict[str, Any] = {"name": spec.name, "datatype": spec.datatype, "shape": list(value.shape)}
        if all_binary or (wanted.get(spec.name, {}).get("parameters") or {}).get("binary_data", False):
            raw = (
                _encode_bytes_elements(value)
                if spec.datatype == "BYTES"
                else value.astype(value.dtype.newbyteorder("<")).tobytes()
            )
            entry["parameters"] = {"binary_data_size": len(raw)}
            binary += raw
        else:
            flat = value.reshape(-1)
            entry["data"] = [v.decode("utf-8", "replace") for v in flat] if spec.datatype == "BYTES" else flat.tolist()
        outputs.append(entry)
    return {"outputs": outputs}, binary


# --- routes ---------------------------------------------------------------------------------------------------


def _served(request: Request, name: str) -> Any:
    if name not in MODELS or name not in request.app.state.registry.models:
        raise V2Error(f"model {name!r} is not served here; GET /v1/models lists the served models", 404)
    return request.app.state.registry.models[name]


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
    m = MODELS[name]
    tensors = lambda ts: [{"name": t.name, "datatype": t.datatype, "shape": t.shape} for t in ts]  # noqa: E731
    return JSONResponse({"name": name, "versions": [served.handler.version], "platform": f"seq2serve_{served.settings.runtime}",
                         "inputs": tensors(m.inputs), "outputs": tensors(m.outputs)})  # fmt: skip


TRITON_TYPES = {"FP32": "TYPE_FP32", "FP64": "TYPE_FP64", "INT64": "TYPE_INT64", "INT32": "TYPE_INT32", "BOOL": "TYPE_BOOL",
                "BYTES": "TYPE_STRING"}  # fmt: skip


@router.get("/models/{name}/config", summary="Model configuration in Triton's form (perf_analyzer reads it)",
            responses={200: {"model": ModelConfig}, **NOT_FOUND})  # fmt: skip
async def model_config(name: ModelName, request: Request) -> JSONResponse:
    served = _served(request, name)  # V2Error -> v2_error_handler
    m = MODELS[name]
    tensors = lambda ts: [{"name": t.name, "data_type": TRITON_TYPES[t.datatype], "dims": t.shape} for t in ts]  # noqa: E731
    # max_batch_size 0: the tensors carry no batch dimension; the server batches requests itself.
    return JSONResponse({"name": name, "platform": f"seq2serve_{served.settings.runtime}", "backend": "seq2serve",
                         "max_batch_size": 0, "input": tensors(m.inputs), "output": tensors(m.outputs)})  # fmt: skip


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
        req, binary = await _read_infer_request(request)
        model, tensors, offset = MODELS[name], {}, 0
        for spec in req["inputs"]:
            if not isinstance(spec, dict):
                raise V2Error("each input must be an object")
            tname, value, offset = _input_tensor(spec, binary, offset)
            tensors[tname] = value
        missing = [t.name for t in model.inputs if t.name not in tensors]
        if missing:
            raise V2Error(f"missing input(s) {missing}; GET /v2/models/{name} lists them")
        for t in model.inputs:  # numeric inputs take any numeric datatype (converted); BYTES only BYTES
            if (tensors[t.name].dtype == np.object_) != (t.datatype == "BYTES"):
                raise V2Error(f"input {t.name}: datatype must be {t.datatype}; GET /v2/models/{name} lists the inputs")
        try:
            out = await model.infer(request, served, tensors)
        except ValidationError as e:
            raise V2Error(f"invalid input: {e.errors(include_url=False)[0]['msg']}") from e
        except UnicodeDecodeError as e:
            raise V2Error("a BYTES input is not UTF-8 text") from e
        body, raw = _output_json(out, model, req)
    except (V2Error, ServiceError) as e:
        return _error(e)
    body |= {"model_name": name, "model_version": served.handler.version}
    if "id" in req:
        body["id"] = req["id"]
    head = json.dumps(body).encode()
    if not raw:
        return Response(head, media_type="application/json")
    return Response(head + raw, media_type="application/octet-stream", headers={HEADER: str(len(head))})
