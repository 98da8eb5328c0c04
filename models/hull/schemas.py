"""POST /hull."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_ABS_COORD = 1e12  # keeps differences and areas finite in float64
# Strict: a JSON number only (integers are fine); true/false and "1.5" are rejected, not coerced.
Coord = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-MAX_ABS_COORD, le=MAX_ABS_COORD)]
HARD_MAX_POINTS = 10_000  # schema-level cap; the served limit is SEQ2SERVE_HULL__MAX_POINTS


class HullRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"points": [[0, 0], [1, 0], [0.5, 0.4], [1, 1], [0, 1]], "decoding": "constrained"}]},
    )

    points: list[tuple[Coord, Coord]] = Field(
        min_length=3,
        max_length=HARD_MAX_POINTS,
        description="Points as [x, y] pairs: JSON numbers with |value| <= 1e12, any scale (normalized inside)",
    )
    decoding: Literal["greedy", "beam", "constrained"] = Field(
        "greedy",
        description="greedy: argmax; beam: beam search; constrained: beam search that only allows "
        "unvisited points that keep the polygon convex and counter-clockwise",
    )
    beam_size: int | None = Field(
        None, ge=1, description="Beams for beam/constrained (default 4 for beam, 1 for constrained); greedy needs 1"
    )
    return_attention: bool = Field(False, description="Include the pointer distribution at every decoding step")


class HullStep(BaseModel):
    chosen: int | None = Field(description="Point index chosen at this step; null for END")
    weights: list[float] = Field(description="Pointer distribution over the input points, in input order")
    end_weight: float = Field(description="Probability of END at this step")


class HullResponse(BaseModel):
    hull: list[int] = Field(description="Hull vertex indices, counter-clockwise, starting at the lowest index")
    coordinates: list[list[float]] = Field(description="The hull's vertices, in the order of `hull`")
    area: float = Field(description="Area of the returned polygon, in the input's units")
    closed: bool = Field(description="The model emitted END (else it ran out of steps)")
    convex: bool = Field(description="The returned polygon is simple, strictly convex and counter-clockwise")
    log_prob: float = Field(description="Sum of log-probabilities of the decoded steps")
    decoding: str
    beam_size: int
    attention: list[HullStep] | None = Field(None, description="Per decoding step (leftmost vertex first), if asked")
    model: str
    version: str
