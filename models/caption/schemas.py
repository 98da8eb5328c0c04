"""POST /caption."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CaptionOptions(BaseModel):
    """Form fields next to a multipart upload, or JSON fields next to `image_base64`."""

    model_config = ConfigDict(extra="forbid")

    model: Literal["photo", "grounded"] = Field(
        "photo", description="photo: Flickr8k-trained (EfficientNet-Lite0 encoder); grounded: synthetic shapes and digits"
    )
    beam_size: int = Field(3, ge=1, description="Beams; 1 is greedy decoding")
    n_best: int = Field(1, ge=1, description="Captions to return, best first (at most beam_size)")
    max_length: int | None = Field(None, ge=1, description="Most words per caption (default and cap: the server's limit)")
    return_attention: bool = Field(True, description="Add, per word, the attention over the image grid")
    return_overlays: bool = Field(False, description="Add, per word, a PNG of the image with the attention drawn over it")


class CaptionJSON(CaptionOptions):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"image_base64": "iVBORw0K...", "model": "photo"}]})

    image_base64: str = Field(description="A PNG or JPEG file, base64-encoded")


class WordAttention(BaseModel):
    word: str = Field(description="The word, or </s> for the end of the caption")
    weights: list[list[float]] = Field(description="Attention over the grid, rows top to bottom (sums to 1)")
    peak: tuple[float, float] = Field(description="Centre of the most-attended cell as (x, y), fractions of width and height")
    overlay_png_base64: str | None = Field(None, description="With return_overlays: the image with this map over it")


class Caption(BaseModel):
    text: str
    confidence: list[float] = Field(description="Per word: the probability the model gave it")
    finished: bool = Field(description="Ended with </s> (false: stopped at max_length)")
    log_prob: float
    score: float
    attention: list[WordAttention] | None = Field(None, description="Per word, then </s>: where the model looked")


class CaptionResponse(BaseModel):
    caption: str = Field(description="The best caption")
    captions: list[Caption] = Field(description="n_best captions, best first")
    grid: tuple[int, int] = Field(description="Attention grid shape (rows, columns) laid over the whole image")
    image_size: tuple[int, int] = Field(description="Size of the image received, (width, height)")
    model: str
    version: str
