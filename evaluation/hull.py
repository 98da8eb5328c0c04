"""Evaluate the exported hull model with the paper's metrics, through the serving search code.

    python -m evaluation.hull [--artifacts build/models/hull] [--runtime onnx] [--card models/hull/card.json]

For each n in 5, 10, 50, 100, 200 a fresh seeded set of uniform points (seeds differ from training
and validation) is decoded with greedy, beam (k=4) and constrained (k=1 and k=4) search. Metrics
(Vinyals et al. 2015, Table 1):
- accuracy: the decoded hull equals the exact hull as a sequence (lowest index first, CCW);
- area: mean of predicted area / true hull area over valid outputs; an output is invalid (a failure)
  when the model did not emit END or the polygon is not simple with >= 3 vertices;
- fail: share of invalid outputs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.precision import compare_precisions
from models.hull.geometry import convex_hull, is_simple_polygon, polygon_area, rotate_to_lowest
from models.hull.handler import HullHandler
from models.hull.search import HullQuery, HullResult, Mode, decode
from models.hull.training.data import eval_set
from service.engine.registry import loaded_handler

SIZES = {5: 1000, 10: 1000, 50: 1000, 100: 500, 200: 200}
SEARCHES: list[tuple[str, Mode, int]] = [("greedy", "greedy", 1), ("beam4", "beam", 4), ("constrained", "constrained", 1),
                                         ("constrained4", "constrained", 4)]  # fmt: skip
SEED = 2015
CHUNK = 100  # instances per decode call: one batch, as the server would form


def score(points: np.ndarray, result: HullResult) -> tuple[bool, float | None]:
    """(exact match, area ratio or None when the output is invalid)."""
    true = convex_hull(points)
    pred = rotate_to_lowest(result.order)
    if not result.finished or not is_simple_polygon(points, pred):
        return False, None
    return pred == true, abs(polygon_area(points, pred)) / polygon_area(points, true)


def evaluate_set(handler: HullHandler, points: np.ndarray, mode: Mode, beam: int) -> dict[str, float]:
    results: list[HullResult] = []
    for start in range(0, len(points), CHUNK):
        queries = [HullQuery(p, mode, beam) for p in points[start : start + CHUNK]]
        results += decode(handler.graph_runner(), queries)
    scored = [score(p.astype(np.float64), r) for p, r in zip(points, results, strict=True)]
    areas = [a for _, a in scored if a is not None]
    return {
        "accuracy": float(np.mean([ok for ok, _ in scored])),
        "area": float(np.mean(areas)) if areas else 0.0,
        "fail": 1.0 - len(areas) / len(scored),
    }


def int8_measure(handler: Any) -> dict[str, Any]:
    """What the int8 row compares: n = 50, greedy and constrained beam search (the card's headline rows)."""
    points = eval_set(50, SIZES.get(50, 500), SEED)  # seeded: the same instances for both precisions
    return {f"n50_{label}_accuracy": round(evaluate_set(handler, points, mode, beam)["accuracy"], 4)
            for label, mode, beam in SEARCHES if label in ("greedy", "constrained4")}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifacts", type=Path, default=Path("build/models/hull"))
    p.add_argument("--runtime", default="onnx", choices=["onnx", "torchscript"])
    p.add_argument("--card", type=Path, default=Path("models/hull/card.json"))
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated n values")
    args = p.parse_args()
    handler = loaded_handler("hull", args.artifacts, runtime=args.runtime)
    assert isinstance(handler, HullHandler)
    table: dict[str, Any] = {}
    print("| n | instances | search | accuracy | area | fail | seconds |\n|---|---|---|---|---|---|---|")
    for n in map(int, args.sizes.split(",")):
        points = eval_set(n, SIZES.get(n, 500), SEED)
        for label, mode, beam in SEARCHES:
            t0 = time.time()
            m = evaluate_set(handler, points, mode, beam)
            table[f"n{n}_{label}"] = {k: round(v, 4) for k, v in m.items()}
            print(f"| {n} | {len(points)} | {label} | {m['accuracy']:.1%} | {m['area']:.2%} | {m['fail']:.1%} | "
                  f"{time.time() - t0:.0f} |", flush=True)  # fmt: skip
    card = {"task": "planar convex hull", "eval_seed": SEED, "checkpoint_sha256": handler.meta.get("checkpoint_sha256"),
            "metrics": table, "precision": compare_precisions("hull", args.artifacts, int8_measure)}  # fmt: skip
    args.card.write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {args.card}")


if __name__ == "__main__":
    main()
