"""POST /transcribe: speech to characters. Takes a multipart WAV upload or JSON with base64 audio."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from service.errors import InvalidInput, UnsupportedMediaType
from service.schemas.common import ERROR_RESPONSES
from service.schemas.speech import TranscribeJSON, TranscribeOptions, TranscribeResponse

router = APIRouter(tags=["speech"])

OPENAPI_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "A WAV file"},
                        **TranscribeOptions.model_json_schema()["properties"],
                    },
                }
            },
            "application/json": {"schema": TranscribeJSON.model_json_schema()},
        },
    }
}


def _parse(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as e:  # the same 422 body as FastAPI's own request validation
        raise RequestValidationError(e.errors(include_url=False)) from e


async def read_request(request: Request) -> tuple[bytes, TranscribeOptions]:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=8) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("file: send the WAV file as the multipart field 'file'")
            opts = _parse(TranscribeOptions, {k: v for k, v in form.items() if k != "file"})
            return await upload.read(), opts
    if ctype.startswith("application/json"):
        body = _parse(TranscribeJSON, await request.json())
        try:
            audio = base64.b64decode(body.audio_base64, validate=True)
        except (binascii.Error, ValueError) as e:
            raise InvalidInput("audio_base64: not valid base64") from e
        return audio, TranscribeOptions(**body.model_dump(exclude={"audio_base64"}))
    raise UnsupportedMediaType(
        f"content-type {ctype or '(none)'!r}: send multipart/form-data with a 'file' field, or JSON with 'audio_base64'"
    )


@router.post("/transcribe", response_model=TranscribeResponse, responses=ERROR_RESPONSES,
             summary="Speech (WAV) to text, with attention over audio frames", openapi_extra=OPENAPI_BODY)  # fmt: skip
async def transcribe(request: Request) -> TranscribeResponse:
    served = request.app.state.registry.get("speech")
    handler = served.ready_handler()
    audio, opts = await read_request(request)
    item = await asyncio.to_thread(handler.prepare, audio, opts)
    hyps = await served.submit(item, request.app.state.settings.request_timeout_s)
    return handler.respond(item, hyps, opts)
