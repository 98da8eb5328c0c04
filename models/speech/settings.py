"""Serving settings of /transcribe (SEQ2SERVE_SPEECH__<FIELD>)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from service.engine.handler import ModelSettings


class SpeechSettings(ModelSettings):
    # int8 graphs by default: with the served beam 4, 1.20-1.28x faster than fp32 offline and within 0.02 CER
    # of it on every dev set (models/speech/card.json "precision")
    precision: Literal["fp32", "int8"] = "int8"
    # /transcribe and /v2/models/speech/infer bodies (a WAV upload, base64 JSON or a v2 tensor) beyond this get 413
    max_body_bytes: int | None = Field(8_000_000, ge=1024)
    max_audio_seconds: float = Field(20.0, gt=0, le=600)  # longer audio gets 422
    max_output_chars: int = Field(200, ge=1, le=2000)  # characters per transcript, at most
    max_beam_size: int = Field(16, ge=1, le=128)
