"""POST /caption: image to caption, with per-word attention maps. Multipart upload or JSON with base64."""

from __future__ import annotations

from fastapi import APIRouter, Request

from models.caption.schemas import CaptionJSON, CaptionOptions, CaptionResponse
from service.engine.driver import drive
from service.routes.uploads import openapi_body, read_upload
from service.schemas.common import ERROR_RESPONSES

router = APIRouter(tags=["caption"])


@router.post("/caption", response_model=CaptionResponse, responses=ERROR_RESPONSES,
             summary="Image (PNG, JPEG) to caption, with where the model looked for each word",
             openapi_extra=openapi_body(CaptionOptions, CaptionJSON, "A PNG or JPEG image"))  # fmt: skip
async def caption(request: Request) -> CaptionResponse:
    upload = await read_upload(request, CaptionOptions, CaptionJSON, "image_base64", "image")
    return await drive(request, f"caption_{upload.options.model}", upload)  # the option picks one of the two models
