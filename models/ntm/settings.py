"""Serving settings of /ntm (SEQ2SERVE_NTM__<FIELD>)."""

from __future__ import annotations

from pydantic import Field

from service.engine.handler import ModelSettings


class NTMSettings(ModelSettings):
    # Longer inputs get 422. The memory has 128 rows, one per vector written: past that the copy must overwrite.
    max_length: int = Field(120, ge=1, le=1000)
