"""POST /qa: a memory network answers a question about a story."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from models.qa.schemas import QARequest, QAResponse
from service.engine.driver import drive
from service.routes.content import require_json
from service.schemas.common import ERROR_RESPONSES

router = APIRouter(tags=["qa"], dependencies=[Depends(require_json)])


@router.post("/qa", response_model=QAResponse, responses=ERROR_RESPONSES, summary="Answer a question about a story (bAbI)")
async def qa(req: QARequest, request: Request) -> QAResponse:
    return await drive(request, "qa", req)
