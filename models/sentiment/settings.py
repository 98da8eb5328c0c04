"""Serving settings of /sentiment (SEQ2SERVE_SENTIMENT__<FIELD>)."""

from __future__ import annotations

from pydantic import Field

from service.engine.handler import ModelSettings


class SentimentSettings(ModelSettings):
    max_words: int = Field(100, ge=1, le=1000)  # longer sentences (or trees with more leaves) get 422
    max_tree_depth: int = Field(200, ge=1, le=1000)  # deeper bracket nesting in `tree` gets 422
