"""POST /translate: German -> English."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request

from service.routes.content import require_json
from service.schemas.common import ERROR_RESPONSES
from service.schemas.translate import TranslateRequest, TranslateResponse

router = APIRouter(tags=["translate"], dependencies=[Depends(require_json)])


@router.post(
    "/translate", response_model=TranslateResponse, responses=ERROR_RESPONSES, summary="German to English, with alignments"
)
async def translate(req: TranslateRequest, request: Request) -> TranslateResponse:
    served = request.app.state.registry.get("translate")
    handler = served.ready_handler()
    items = handler.validate(req)
    timeout = request.app.state.settings.request_timeout_s
    # Each text is its own item, so texts of one request batch with texts of others.
    outputs = await asyncio.gather(*(served.submit(it, timeout) for it in items))
    return handler.respond(items, list(outputs), req)
