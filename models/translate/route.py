"""POST /translate: German -> English."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from models.translate.schemas import TranslateRequest, TranslateResponse
from service.engine.driver import drive
from service.routes.content import require_json
from service.schemas.common import ERROR_RESPONSES

router = APIRouter(tags=["translate"], dependencies=[Depends(require_json)])


@router.post(
    "/translate", response_model=TranslateResponse, responses=ERROR_RESPONSES, summary="German to English, with alignments"
)
async def translate(req: TranslateRequest, request: Request) -> TranslateResponse:
    return await drive(request, "translate", req)
