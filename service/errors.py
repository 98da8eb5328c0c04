"""One exception hierarchy: each class carries its HTTP status, a stable code and a public message.

Handlers turn every error into the same JSON body:
    {"error": {"code": "invalid_input", "message": "...", "details": [...]}}
Unknown exceptions become a generic 500 whose body says nothing about the internals; the
traceback goes to the log only.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("seq2serve")


class ServiceError(Exception):
    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, details: list[Any] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}


class InvalidInput(ServiceError):
    status, code = 422, "invalid_input"


class PayloadTooLarge(ServiceError):
    status, code = 413, "payload_too_large"


class MalformedBody(ServiceError):
    """The body cannot be read as JSON at all: invalid UTF-8, or nested past the parser's depth limit."""

    status, code = 400, "malformed_body"


class UnsupportedMediaType(ServiceError):
    status, code = 415, "unsupported_media_type"


class ModelNotFound(ServiceError):
    status, code = 404, "model_not_found"


class Unavailable(ServiceError):
    """Temporarily unable to take the request: not ready, shutting down, or queue full."""

    status, code = 503, "unavailable"

    def __init__(self, message: str, retry_after_s: int = 1):
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})


class QueueFull(Unavailable):
    code = "queue_full"


class Overloaded(Unavailable):
    """More requests in flight than SEQ2SERVE_MAX_IN_FLIGHT: shed before any work."""

    code = "overloaded"


class RequestTimeout(ServiceError):
    """The request did not arrive within SEQ2SERVE_READ_TIMEOUT_S; the connection is closed after the answer."""

    status, code = 408, "request_timeout"

    def __init__(self, message: str):
        super().__init__(message, headers={"Connection": "close"})


class DeadlineExceeded(ServiceError):
    status, code = 504, "deadline_exceeded"


class InferenceFailed(ServiceError):
    """The model's runtime raised; the message stays generic, the cause is logged."""

    status, code = 500, "inference_failed"


def json_loads(raw: bytes) -> Any:
    """json.loads with every way it fails on hostile bytes mapped to a 4xx that says what is wrong."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:  # 422, like FastAPI's own answer to invalid JSON
        raise InvalidInput(f"body: not valid JSON: {e.msg} at character {e.pos}") from e
    except (RecursionError, UnicodeDecodeError) as e:
        raise (malformed_body(e) or InvalidInput("body: not valid JSON")) from e


def malformed_body(exc: BaseException) -> MalformedBody | None:
    """What to tell the client when parsing its body raised `exc` (None: not a body problem)."""
    if isinstance(exc, RecursionError):  # the C parser's own depth guard, hit long before any memory trouble
        return MalformedBody("the JSON body is nested too deeply")
    if isinstance(exc, UnicodeDecodeError):
        return MalformedBody(f"the body is not valid UTF-8 (byte {exc.start}: {exc.reason})")
    return None


def _body_error(exc: BaseException) -> ServiceError | None:
    # The body limit's 413 raised while FastAPI read the body comes back wrapped in its 400.
    return exc if isinstance(exc, ServiceError) else malformed_body(exc)


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Pydantic's own entries may hold the raw input (bytes, huge lists): keep location and message.
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")} for e in exc.errors()]


def _summary(details: list[dict[str, Any]]) -> str:
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"] if p != "body") or "body"
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.details), exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        return JSONResponse(error_body("invalid_input", _summary(details), details), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI answers any body it failed to parse with a bare "error parsing the body": say why.
        cause = exc.__cause__
        if exc.status_code == 400 and cause is not None and (mapped := _body_error(cause)):
            return JSONResponse(error_body(mapped.code, mapped.message), mapped.status, headers=mapped.headers)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "internal server error"), 500)
