"""POST /translate."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

HARD_MAX_TEXTS = 1024
HARD_MAX_CHARS = 10_000  # schema-level cap per text; the served limit is on tokens (SEQ2SERVE_TRANSLATE__MAX_SOURCE_TOKENS)


class TranslateRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "Ein Mann fährt Fahrrad.", "beam_size": 5, "return_alignment": True}]},
    )

    text: str | list[str] = Field(description="One German sentence, or a list of them (each translated on its own)")
    beam_size: int = Field(5, ge=1, description="Beams; 1 is greedy decoding")
    n_best: int = Field(1, ge=1, description="Translations to return per text, best first (at most beam_size)")
    max_length: int | None = Field(None, ge=1, description="Most output tokens (default: 2 x source tokens + 10)")
    length_alpha: float | None = Field(None, ge=0, le=5, description="Length normalization exponent (server default if null)")
    coverage_beta: float | None = Field(None, ge=0, le=5, description="Coverage penalty weight (server default if null)")
    block_unk: bool | None = Field(
        None, description="Never output <unk>: unknown source words are copied instead (server default if null)"
    )
    return_alignment: bool = Field(False, description="Add the attention matrix (target tokens x source tokens)")
    return_scores: bool = Field(False, description="Add log-probability and ranking score of each translation")


class Translation(BaseModel):
    text: str = Field(description="Detokenized English")
    tokens: list[str] = Field(description="Output tokens (words), </s> excluded")
    copied: list[bool] = Field(description="Per output token: a source word outside the target vocabulary, copied")
    finished: bool = Field(description="Ended with </s> (false: stopped at max_length)")
    log_prob: float | None = None
    score: float | None = None
    alignment: list[list[float]] | None = Field(None, description="Rows: output tokens then </s>; columns: source tokens")


class TextTranslation(BaseModel):
    source: str
    source_tokens: list[str]
    unknown_source_tokens: list[str] = Field(description="Source words the encoder sees as <unk>")
    translations: list[Translation]


class TranslateResponse(BaseModel):
    results: list[TextTranslation] = Field(description="One entry per input text, in order")
    model: str
    version: str
