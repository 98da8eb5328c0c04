"""POST /transcribe: speech to characters. Takes a multipart WAV upload or JSON with base64 audio."""

from __future__ import annotations

from fastapi import APIRouter, Request

from models.speech.schemas import TranscribeJSON, TranscribeOptions, TranscribeResponse
from service.engine.driver import drive
from service.routes.uploads import openapi_body, read_upload
from service.schemas.common import ERROR_RESPONSES

router = APIRouter(tags=["speech"])


@router.post("/transcribe", response_model=TranscribeResponse, responses=ERROR_RESPONSES,
             summary="Speech (WAV) to text, with attention over audio frames",
             openapi_extra=openapi_body(TranscribeOptions, TranscribeJSON, "A WAV file"))  # fmt: skip
async def transcribe(request: Request) -> TranscribeResponse:
    upload = await read_upload(request, TranscribeOptions, TranscribeJSON, "audio_base64", "WAV file")
    return await drive(request, "speech", upload)
