"""POST /hull: convex hull by a pointer network."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from models.hull.schemas import HullRequest, HullResponse
from service.engine.driver import drive
from service.routes.content import require_json
from service.schemas.common import ERROR_RESPONSES

router = APIRouter(tags=["hull"], dependencies=[Depends(require_json)])


@router.post("/hull", response_model=HullResponse, responses=ERROR_RESPONSES, summary="Convex hull of planar points")
async def hull(req: HullRequest, request: Request) -> HullResponse:
    return await drive(request, "hull", req)
