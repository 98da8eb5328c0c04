"""Hull handler: points -> normalized query -> batched pointer decoding -> hull in the paper's convention."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.hull import search
from models.hull.geometry import is_simple_polygon, polygon_area, rotate_to_lowest
from models.hull.schemas import HullRequest, HullResponse, HullStep
from models.hull.search import HullDecoding, HullQuery, HullResult, HullStepBatch
from models.hull.settings import HullSettings
from service.engine.handler import Handler
from service.errors import InvalidInput
from service.v2 import Tensor, V2Error

DEFAULT_BEAM = {"greedy": 1, "beam": 4, "constrained": 1}


@dataclass(frozen=True)
class HullItem:
    query: HullQuery
    points: np.ndarray  # (n, 2) float64, as given: coordinates are reported in these units
    unit: np.ndarray  # (n, 2) float64 in the unit square: geometry checks run here, free of overflow
    scale: float  # input units per unit-square unit: areas scale by its square


def normalize(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Shift and scale uniformly into the unit square (the training distribution); keeps the hull.

    Returns the float64 unit-square points and the scale. Raises InvalidInput when every point lies
    on one line: such a set has no polygon as its hull.
    """
    lo = points.min(axis=0)
    scale = float((points.max(axis=0) - lo).max())
    if scale == 0.0:
        raise InvalidInput("points: all points are equal; a hull needs 3 points not on one line")
    unit = (points - lo) / scale
    d = unit - unit[0]
    far = d[np.argmax(np.abs(d).sum(axis=1))]
    if np.all(np.abs(far[0] * d[:, 1] - far[1] * d[:, 0]) <= 1e-12):
        raise InvalidInput("points: all points lie on one line; a hull needs 3 points not on one line")
    return unit, scale


def canonical_duplicates(points: np.ndarray, cycle: list[int]) -> list[int]:
    """Replace each index by the lowest index of an identical point (the paper's convention)."""
    first: dict[tuple[float, float], int] = {}
    for i, (x, y) in enumerate(points.tolist()):
        first.setdefault((x, y), i)
    return [first[(float(points[i, 0]), float(points[i, 1]))] for i in cycle]


class HullHandler(Handler[HullRequest, HullItem, HullResult, HullResponse]):
    graphs = ("encode", "decode_step")
    v2_inputs = (Tensor("POINTS", "FP32", (-1, 2)),)
    v2_outputs = (Tensor("HULL", "INT64", (-1,)),)  # vertex indices, counter-clockwise
    settings: HullSettings

    def decode(self, req: HullRequest) -> list[HullItem]:
        s = self.settings
        if len(req.points) > s.max_points:
            raise InvalidInput(f"points: {len(req.points)} points is more than this server's limit of {s.max_points}")
        beam = req.beam_size if req.beam_size is not None else DEFAULT_BEAM[req.decoding]
        if req.decoding == "greedy" and beam != 1:
            raise InvalidInput("beam_size: greedy decoding uses one beam; use decoding='beam' for beam_size > 1")
        if beam > s.max_beam_size:
            raise InvalidInput(f"beam_size: {beam} is more than this server's limit of {s.max_beam_size}")
        points = np.asarray(req.points, dtype=np.float64)
        unit, scale = normalize(points)
        return [HullItem(HullQuery(unit.astype(np.float32), req.decoding, beam), points, unit, scale)]

    def example(self) -> HullItem:
        rng = np.random.default_rng(0)
        points = rng.random((20, 2))
        return HullItem(HullQuery(points.astype(np.float32), "beam", 2), points, points, 1.0)

    def rows(self, item: HullItem) -> int:
        return item.query.beam_size

    def work(self, item: HullItem) -> int:
        return item.query.beam_size * (len(item.query.points) + 1)  # at most every point, then END

    def predict(self, items: list[HullItem]) -> list[HullResult]:
        return search.decode(self.graph_runner(), [it.query for it in items])

    def start_decodings(self, items: list[HullItem]) -> list[HullDecoding]:
        return search.start_decodings(self.graph_runner(), [it.query for it in items])

    def step_batch(self) -> HullStepBatch:
        return HullStepBatch(self.graph_runner())

    def encode(self, req: HullRequest, items: list[HullItem], outputs: list[HullResult]) -> HullResponse:
        (item,), (result,) = items, outputs
        hull = rotate_to_lowest(canonical_duplicates(item.points, result.order))
        unit = item.unit
        convex = result.finished and is_simple_polygon(unit, hull) and _strictly_convex(unit, hull)
        attention = None
        if req.return_attention:
            chosen = [*result.order, None]
            attention = [
                HullStep(chosen=c, weights=a[1:].astype(np.float64).round(6).tolist(), end_weight=round(float(a[0]), 6))
                for c, a in zip(chosen, result.attention, strict=False)
            ]
        return HullResponse(
            hull=hull,
            coordinates=item.points[hull].tolist(),
            area=abs(polygon_area(unit, hull)) * item.scale**2,
            closed=result.finished,
            convex=convex,
            log_prob=result.log_prob,
            decoding=item.query.mode,
            beam_size=item.query.beam_size,
            attention=attention,
            model=self.name,
            version=self.version,
        )

    def v2_request(self, tensors: dict[str, np.ndarray]) -> HullRequest:
        points = tensors["POINTS"]
        if points.ndim != 2 or points.shape[1] != 2:
            raise V2Error(f"input POINTS: shape must be [n, 2] (got {list(points.shape)})")
        return HullRequest(points=[tuple(p) for p in points.astype(np.float64).tolist()])  # type: ignore[misc]

    def v2_response(self, response: HullResponse) -> dict[str, np.ndarray]:
        return {"HULL": np.asarray(response.hull, dtype=np.int64)}


def _strictly_convex(points: np.ndarray, cycle: list[int]) -> bool:
    p = points[cycle]
    a, b, c = p, np.roll(p, -1, axis=0), np.roll(p, -2, axis=0)
    turns = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    return bool(np.all(turns > 0))
