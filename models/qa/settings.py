"""Serving settings of /qa (SEQ2SERVE_QA__<FIELD>)."""

from __future__ import annotations

from pydantic import Field

from service.engine.handler import ModelSettings


class QASettings(ModelSettings):
    memory: int = Field(50, ge=1, le=50)  # the most recent sentences read (the model's temporal encoding has 50)
    max_sentences: int = Field(500, ge=1, le=10_000)  # longer stories get 422 (older sentences beyond `memory` are dropped)
    max_words: int = Field(30, ge=1, le=200)  # a sentence or question with more words gets 422
