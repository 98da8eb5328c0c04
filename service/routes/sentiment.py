"""POST /sentiment: a sentiment label at every node of a sentence's binary parse tree."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from service.routes.content import require_json
from service.schemas.common import ERROR_RESPONSES
from service.schemas.sentiment import SentimentRequest, SentimentResponse

router = APIRouter(tags=["sentiment"], dependencies=[Depends(require_json)])


@router.post("/sentiment", response_model=SentimentResponse, responses=ERROR_RESPONSES,
             summary="Sentiment of a sentence and of every phrase in its parse tree")  # fmt: skip
async def sentiment(req: SentimentRequest, request: Request) -> SentimentResponse:
    served = request.app.state.registry.get("sentiment")
    handler = served.ready_handler()
    item = handler.validate(req)
    output = await served.submit(item, request.app.state.settings.request_timeout_s)
    return handler.respond(item, output, req)
