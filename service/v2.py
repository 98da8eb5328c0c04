"""The Open Inference Protocol's (KServe v2) tensors: declarations, the JSON and binary encodings of an
inference request's inputs and of a response's outputs, and the protocol's errors.

Handlers declare their tensors with `Tensor` and map them to and from their task's request and response
(service/engine/handler.py); service/routes/kserve.py serves every model through this codec.
JSON tensors and the binary tensor extension (`Inference-Header-Content-Length`) are both accepted; an
output comes back binary when the request asks (`binary_data` on the output, or `binary_data_output`).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import Request
from pydantic import ValidationError

from service.errors import ServiceError, json_loads
from service.schemas.kserve import InferRequest

HEADER = "Inference-Header-Content-Length"
DTYPES = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32, "BOOL": np.bool_}


class V2Error(Exception):
    """A request the protocol refuses: answered `{"error": message}` with this status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Tensor:
    name: str
    datatype: str  # BYTES, FP32, INT64, ...
    shape: tuple[int, ...]  # -1: any length


def one_bytes(tensors: dict[str, np.ndarray], name: str) -> bytes:
    """The single element of a BYTES input declared with shape [1]."""
    value = tensors[name]
    if value.size != 1:
        raise V2Error(f"input {name}: send exactly one element (got shape {list(value.shape)})")
    return bytes(value.reshape(-1)[0])


def texts(tensors: dict[str, np.ndarray], name: str) -> list[str]:
    """A BYTES input's elements as UTF-8 text."""
    try:
        return [bytes(x).decode("utf-8") for x in tensors[name].reshape(-1)]
    except UnicodeDecodeError as e:
        raise V2Error(f"input {name}: not UTF-8 text") from e


def one_text(tensors: dict[str, np.ndarray], name: str) -> str:
    """The single element of a BYTES input declared with shape [1], as UTF-8 text."""
    one_bytes(tensors, name)  # exactly one element, or the error that says so
    return texts(tensors, name)[0]


def read_inputs(
    req: dict[str, Any], binary: memoryview | None, declared: tuple[Tensor, ...], model: str
) -> dict[str, np.ndarray]:
    """The request's input tensors by name, each checked against the model's declaration."""
    tensors, offset = {}, 0
    for spec in req["inputs"]:
        if not isinstance(spec, dict):
            raise V2Error("each input must be an object")
        name, value, offset = _input_tensor(spec, binary, offset)
        tensors[name] = value
    missing = [t.name for t in declared if t.name not in tensors]
    if missing:
        raise V2Error(f"missing input(s) {missing}; GET /v2/models/{model} lists them")
    for t in declared:  # numeric inputs take any numeric datatype (converted); BYTES only BYTES
        if (tensors[t.name].dtype == np.object_) != (t.datatype == "BYTES"):
            raise V2Error(f"input {t.name}: datatype must be {t.datatype}; GET /v2/models/{model} lists the inputs")
    return tensors


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


async def read_infer_request(request: Request) -> tuple[dict[str, Any], memoryview | None]:
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


def output_json(
    tensors: dict[str, np.ndarray], declared: tuple[Tensor, ...], req: dict[str, Any]
) -> tuple[dict[str, Any], bytes]:
    wanted = {o.get("name"): o for o in req.get("outputs") or [] if isinstance(o, dict)}
    all_binary = bool((req.get("parameters") or {}).get("binary_data_output", False))
    outputs, binary = [], b""
    for spec in declared:
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
