"""POST /transcribe: speech to characters. Takes a multipart WAV upload or JSON with base64 audio."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from service.routes.uploads import openapi_body, read_upload
from service.schemas.common import ERROR_RESPONSES
from service.schemas.speech import TranscribeJSON, TranscribeOptions, TranscribeResponse

router = APIRouter(tags=["speech"])


@router.post("/transcribe", response_model=TranscribeResponse, responses=ERROR_RESPONSES,
             summary="Speech (WAV) to text, with attention over audio frames",
             openapi_extra=openapi_body(TranscribeOptions, TranscribeJSON, "A WAV file"))  # fmt: skip
async def transcribe(request: Request) -> TranscribeResponse:
    served = request.app.state.registry.get("speech")
    handler = served.ready_handler()
    audio, opts = await read_upload(request, TranscribeOptions, TranscribeJSON, "audio_base64", "WAV file")
    item = await asyncio.to_thread(handler.prepare, audio, opts)
    hyps = await served.submit(item, request.app.state.settings.request_timeout_s)
    return handler.respond(item, hyps, opts)
