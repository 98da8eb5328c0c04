"""Serving settings of /translate (SEQ2SERVE_TRANSLATE__<FIELD>)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from service.engine.handler import ModelSettings


class TranslateSettings(ModelSettings):
    # int8 graphs by default: 1.2-1.46x faster than fp32 offline for 0.19 val BLEU (models/translate/card.json "precision")
    precision: Literal["fp32", "int8"] = "int8"
    # A translate batch is worth waiting for: 15 ms gave 1.1-1.2x the throughput of 5 ms at 8 and 32 clients
    # with a lower p99 (BENCHMARKS.md, issue 16); a lone request waits up to this long.
    max_wait_ms: float = Field(15.0, ge=0, le=1000)
    max_texts: int = Field(32, ge=1, le=1024)  # texts per request
    max_source_tokens: int = Field(100, ge=1, le=1000)  # longer texts get 422 (split them into sentences)
    max_output_tokens: int = Field(200, ge=1, le=1000)  # hard cap on max_length
    max_beam_size: int = Field(16, ge=1, le=128)
    length_alpha: float = Field(0.4, ge=0, le=5)  # default length normalization (GNMT alpha), chosen on val
    coverage_beta: float = Field(0.0, ge=0, le=5)  # default coverage penalty weight in beam search
    block_unk: bool = False  # default: never generate <unk>, so unknown source words are copied instead
