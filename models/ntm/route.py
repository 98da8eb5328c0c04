"""POST /ntm: the neural Turing machine copies a sequence of bit vectors through its memory."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from models.ntm.schemas import NTMRequest, NTMResponse
from service.engine.driver import drive
from service.routes.content import require_json
from service.schemas.common import ERROR_RESPONSES

router = APIRouter(tags=["ntm"], dependencies=[Depends(require_json)])


@router.post("/ntm", response_model=NTMResponse, responses=ERROR_RESPONSES, summary="Copy bit vectors through an NTM's memory")
async def ntm(req: NTMRequest, request: Request) -> NTMResponse:
    return await drive(request, "ntm", req)
