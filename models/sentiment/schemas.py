"""POST /sentiment."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

HARD_MAX_CHARS = 20_000  # schema-level cap; the served limit is on words (SEQ2SERVE_SENTIMENT__MAX_WORDS)


class SentimentRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"text": "The acting is superb, but the plot is a mess."},
                {"tree": "(S (NP The film) (VP is (ADJP not good)))"},
            ]
        },
    )

    text: str | None = Field(None, max_length=HARD_MAX_CHARS, description="A sentence; the server parses it into a tree")
    tree: str | None = Field(
        None, max_length=HARD_MAX_CHARS,
        description="Or a tree in PTB brackets, e.g. (S (NP the film) (VP rocks)); labels are ignored, wider nodes binarized",
    )  # fmt: skip
    return_svg: bool = Field(False, description="Add an SVG drawing of the labelled tree")


class Node(BaseModel):
    phrase: str = Field(description="The words under this node")
    label: int = Field(description="0 very negative, 1 negative, 2 neutral, 3 positive, 4 very positive")
    sentiment: str
    probs: list[float] = Field(description="Probabilities of the 5 classes")
    children: list[Node] = Field(default_factory=list, description="Two children, or none for a word")


class SentimentResponse(BaseModel):
    label: int = Field(description="The root's class (the whole sentence)")
    sentiment: str
    probs: list[float]
    tokens: list[str]
    unknown_words: list[str] = Field(description="Words outside the model's vocabulary (read as <unk>)")
    parsed: bool = Field(description="True: the tree came from the server's parser; false: from the request")
    tree: Node
    tree_ptb: str = Field(description="The labelled tree in PTB brackets")
    svg: str | None = None
    model: str
    version: str
