"""POST /hull: convex hull by a pointer network."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from service.routes.content import require_json
from service.schemas.common import ERROR_RESPONSES
from service.schemas.hull import HullRequest, HullResponse

router = APIRouter(tags=["hull"], dependencies=[Depends(require_json)])


@router.post("/hull", response_model=HullResponse, responses=ERROR_RESPONSES, summary="Convex hull of planar points")
async def hull(req: HullRequest, request: Request) -> HullResponse:
    served = request.app.state.registry.get("hull")
    handler = served.ready_handler()
    item = handler.validate(req)
    result = await served.submit(item, request.app.state.settings.request_timeout_s)
    return handler.respond(item, result, req.return_attention)
