"""Schemas shared by every endpoint: errors, health and the model list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

Options = TypeVar("Options", bound=BaseModel)


@dataclass(frozen=True)
class Upload(Generic[Options]):
    """A file-carrying request (/transcribe, /caption): the file's bytes and the options sent with it,
    from a multipart upload, JSON with base64, or a v2 BYTES tensor."""

    data: bytes
    options: Options


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable error code, e.g. invalid_input, queue_full")
    message: str = Field(description="What is wrong, in words a caller can act on")
    details: list[Any] | None = Field(None, description="Per-field problems for invalid_input")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    models: dict[str, str] = Field(description="Model name -> loading | ready | failed: <reason>")


class BatchingInfo(BaseModel):
    max_batch_size: int
    max_wait_ms: float
    max_queue: int


class ModelInfo(BaseModel):
    name: str
    version: str
    status: str
    runtime: str
    precision: str = Field(description="fp32, or int8 (ONNX Runtime's dynamically quantized graphs)")
    device: str
    endpoint: str
    batching: BatchingInfo
    card: dict[str, Any] = Field(description="Model-card metrics, as measured by `make eval`")
    members: int = Field(1, description="Trained models averaged at inference (an ensemble) behind this name; 1: a single model")


class ModelList(BaseModel):
    models: list[ModelInfo]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        400: "Body is not readable: invalid UTF-8, or JSON nested too deeply",
        413: "Request body too large",
        415: "Wrong content type: the message says which one to send",
        422: "Invalid input: the message says which field and why",
        503: "Not ready, shutting down, or queue full (see Retry-After)",
        504: "Waited in the queue past the request deadline",
    }.items()
}
