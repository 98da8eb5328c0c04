"""Serving settings of /hull (SEQ2SERVE_HULL__<FIELD>)."""

from __future__ import annotations

from pydantic import Field

from service.engine.handler import ModelSettings


class HullSettings(ModelSettings):
    max_points: int = Field(256, ge=3, le=10_000)  # requests with more points get 422
    max_beam_size: int = Field(16, ge=1, le=128)  # largest beam_size a request may ask for
