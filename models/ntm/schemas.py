"""POST /ntm."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

BITS = 8  # the trained model's vector width
HARD_MAX_LENGTH = 1000  # schema-level cap; the served limit is SEQ2SERVE_NTM__MAX_LENGTH
# Strict: a JSON integer 0 or 1 only; true/false, 0.5 and "1" are rejected, not coerced.
Bit = Annotated[int, Field(strict=True, ge=0, le=1)]
Vector = Annotated[list[Bit], Field(min_length=BITS, max_length=BITS)]


class NTMRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"task": "copy", "input": [[1, 0, 1, 1, 0, 0, 1, 0], [0, 1, 1, 0, 1, 0, 0, 1]]}]},
    )

    task: Literal["copy"] = Field("copy", description="copy: read the vectors, then write them back (the task it was trained on)")
    input: list[Vector] = Field(
        min_length=1, max_length=HARD_MAX_LENGTH, description="L vectors of 8 bits, each 0 or 1 (L up to the server's limit)"
    )
    return_weights: bool = Field(True, description="Add the write head's and read head's weights over memory rows")


class NTMResponse(BaseModel):
    task: str
    length: int = Field(description="L: vectors read and written back")
    output: list[list[float]] = Field(description="Per output step: the probability of each of the 8 bits being 1")
    bits: list[list[int]] = Field(description="The output thresholded at 0.5: the copy")
    errors: int = Field(description="Bits of `bits` that differ from the input (0: a perfect copy)")
    memory_rows: int = Field(description="N: memory locations the heads address")
    write_weights: list[list[float]] | None = Field(None, description="Per input step: the write head's weights over the N rows")
    read_weights: list[list[float]] | None = Field(None, description="Per output step: the read head's weights over the N rows")
    model: str
    version: str
