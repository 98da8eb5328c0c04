"""Evaluate the exported memory network on bAbI 1k, through the serving code (handler + ONNX Runtime).

    python -m evaluation.qa [--artifacts build/models/qa] [--card models/qa/card.json]

Every question of the validation split (10% of each task's train questions, the split training chose its
checkpoint on) and of the 20 test files goes through handler.decode -> predict -> encode, 64 per batch, as
a request would: the story as sentences, the question as text. Reports the error (%) per task, the mean, and
the failed tasks (error > 5%, the paper's criterion), and writes models/qa/card.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.precision import compare_precisions
from models.qa.handler import QAHandler
from models.qa.schemas import QARequest
from models.qa.training.data import TASKS, Example, splits
from models.training.paths import default_data_dir
from service.engine.handler import Handler
from service.engine.registry import loaded_handler

CHUNK = 64


def request(ex: Example) -> QARequest:
    return QARequest(story=[" ".join(s) for s in ex.story] or ["nothing happened"], question=" ".join(ex.question))


def answers(handler: Handler[Any, Any, Any, Any], examples: list[Example]) -> list[str]:
    out: list[str] = []
    for start in range(0, len(examples), CHUNK):
        requests = [request(ex) for ex in examples[start : start + CHUNK]]
        items = [it for r in requests for it in handler.decode(r)]
        out += [handler.encode(r, [it], [o]).answer for r, it, o in zip(requests, items, handler.predict(items), strict=True)]
    return out


def errors(handler: Handler[Any, Any, Any, Any], examples: list[Example]) -> dict[str, Any]:
    got = answers(handler, examples)
    wrong = np.array([g != ex.answer for g, ex in zip(got, examples, strict=True)])
    tasks = np.array([ex.task for ex in examples])
    per_task = {str(t): round(100 * float(wrong[tasks == t].mean()), 1) for t in TASKS}
    return {"per_task": per_task, "mean_error": round(float(np.mean(list(per_task.values()))), 2),
            "failed": sum(e > 5 for e in per_task.values()), "n": len(examples)}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifacts", type=Path, default=Path("build/models/qa"))
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--card", type=Path, default=Path("models/qa/card.json"))
    args = p.parse_args()
    handler = loaded_handler("qa", args.artifacts)
    assert isinstance(handler, QAHandler)
    data = splits(args.data_dir or default_data_dir())
    metrics = {split: errors(handler, data[split]) for split in ("val", "test")}
    print("| task | val error % | test error % |\n|---|---|---|")
    for t in TASKS:
        print(f"| {t} | {metrics['val']['per_task'][str(t)]} | {metrics['test']['per_task'][str(t)]} |")
    for split in ("val", "test"):
        print(f"| {split}: mean {metrics[split]['mean_error']}%, failed tasks (> 5%) {metrics[split]['failed']} |")

    def int8_measure(h: Handler[Any, Any, Any, Any]) -> dict[str, Any]:  # on validation
        return {"val_mean_error": errors(h, data["val"])["mean_error"]}

    card = {"task": "bAbI 1k QA, 20 tasks jointly", "checkpoint_sha256": handler.meta.get("checkpoint_sha256"),
            "metrics": metrics, "precision": compare_precisions("qa", args.artifacts, int8_measure)}  # fmt: skip
    args.card.write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {args.card}")


if __name__ == "__main__":
    main()
