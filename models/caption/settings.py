"""Serving settings of the two captioning models (SEQ2SERVE_CAPTION_PHOTO__<FIELD>, SEQ2SERVE_CAPTION_GROUNDED__<FIELD>)."""

from __future__ import annotations

from pydantic import Field

from service.engine.handler import ModelSettings


class CaptionSettings(ModelSettings):
    # /caption and /v2/models/caption_<kind>/infer bodies (upload, base64 JSON or a v2 tensor) beyond this get 413
    max_body_bytes: int | None = Field(10_000_000, ge=1024)
    # width x height, read from the header before decoding; more -> 413. At most Pillow's own bomb limit.
    max_image_pixels: int = Field(25_000_000, ge=1, le=89_000_000)
    max_output_words: int = Field(30, ge=1, le=200)  # words per caption, at most (and the default max_length)
    max_beam_size: int = Field(16, ge=1, le=128)
    length_alpha: float = Field(0.0, ge=0, le=5)  # length normalization in beam search (GNMT alpha)
    block_unk: bool = True  # never generate <unk> (rare words): complete captions instead of "on a <unk>"
