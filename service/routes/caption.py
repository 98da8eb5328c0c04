"""POST /caption: image to caption, with per-word attention maps. Multipart upload or JSON with base64."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from service.routes.uploads import openapi_body, read_upload
from service.schemas.caption import CaptionJSON, CaptionOptions, CaptionResponse
from service.schemas.common import ERROR_RESPONSES

router = APIRouter(tags=["caption"])


@router.post("/caption", response_model=CaptionResponse, responses=ERROR_RESPONSES,
             summary="Image (PNG, JPEG) to caption, with where the model looked for each word",
             openapi_extra=openapi_body(CaptionOptions, CaptionJSON, "A PNG or JPEG image"))  # fmt: skip
async def caption(request: Request) -> CaptionResponse:
    data, opts = await read_upload(request, CaptionOptions, CaptionJSON, "image_base64", "image")
    served = request.app.state.registry.get(f"caption_{opts.model}")
    handler = served.ready_handler()
    item = await asyncio.to_thread(handler.prepare, data, opts)
    hyps = await served.submit(item, request.app.state.settings.request_timeout_s)
    return await asyncio.to_thread(handler.respond, item, hyps, opts)  # PNG overlays take CPU time
