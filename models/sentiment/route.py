"""POST /sentiment: a sentiment label at every node of a sentence's binary parse tree."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from models.sentiment.schemas import SentimentRequest, SentimentResponse
from service.engine.driver import drive
from service.routes.content import require_json
from service.schemas.common import ERROR_RESPONSES

router = APIRouter(tags=["sentiment"], dependencies=[Depends(require_json)])


@router.post("/sentiment", response_model=SentimentResponse, responses=ERROR_RESPONSES,
             summary="Sentiment of a sentence and of every phrase in its parse tree")  # fmt: skip
async def sentiment(req: SentimentRequest, request: Request) -> SentimentResponse:
    return await drive(request, "sentiment", req)
