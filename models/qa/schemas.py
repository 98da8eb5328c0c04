"""POST /qa."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

HARD_MAX_SENTENCES = 10_000  # schema-level caps; the served limits are SEQ2SERVE_QA__MAX_SENTENCES and ..._MAX_WORDS
HARD_MAX_CHARS = 2_000


class QARequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"story": ["Mary moved to the bathroom.", "John went to the hallway."], "question": "Where is Mary?"}]
        },
    )

    story: list[str] = Field(min_length=1, max_length=HARD_MAX_SENTENCES, description="The story's sentences, oldest first")
    question: str = Field(min_length=1, max_length=HARD_MAX_CHARS, description="A question about the story")


class Candidate(BaseModel):
    answer: str
    prob: float


class Hop(BaseModel):
    weights: list[float] = Field(description="Attention over the story's sentences (in the request's order; 0 for dropped ones)")


class QAResponse(BaseModel):
    answer: str = Field(description="As bAbI writes answers: a word, a list ('apple,football') or a path ('n,w')")
    candidates: list[Candidate] = Field(description="The 5 most probable answers, best first")
    hops: list[Hop] = Field(description="Per hop, where the model looked")
    unknown_words: list[str] = Field(description="Words outside the vocabulary, read as <unk>")
    sentences_used: int = Field(description="The most recent sentences read into memory")
    sentences_dropped: int = Field(description="Older sentences left out (the memory holds SEQ2SERVE_QA__MEMORY)")
    model: str
    version: str
