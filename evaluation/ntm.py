"""Evaluate the exported NTM on the copy task, through the serving code (handler + ONNX Runtime).

    python -m evaluation.ntm [--artifacts build/models/ntm] [--card models/ntm/card.json]

For each length L in 10, 20, 40, 80, 120, a fresh seeded set of 100 random 8-bit sequences (seeds apart
from training's data and its validation sets) goes through handler.decode -> predict -> encode, 50 per
batch. Reports bit errors per sequence (mean and worst) and the share of perfect copies, and draws the
write and read weights of one sequence at L = 20 and L = 120 (models/ntm/weights-L<L>.png: the write
head's weights over the 128 memory rows at each input step on top, the read head's at each output step
below; darker = more weight).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from evaluation.precision import compare_precisions
from models.ntm.handler import NTMHandler
from models.ntm.schemas import BITS, NTMRequest
from models.ntm.training.data import eval_sets
from service.engine.handler import Handler
from service.engine.registry import loaded_handler

LENGTHS = (10, 20, 40, 80, 120)
SIZE, CHUNK, SEED = 100, 50, 2014
PICTURES = (20, 120)


def copies(handler: Handler[Any, Any, Any, Any], sequences: np.ndarray) -> list[Any]:
    """The responses to one request per sequence, batched CHUNK at a time as the server would."""
    out = []
    for start in range(0, len(sequences), CHUNK):
        requests = [NTMRequest(input=s.astype(int).tolist()) for s in sequences[start : start + CHUNK]]
        items = [it for r in requests for it in handler.decode(r)]
        out += [handler.encode(r, [it], [o]) for r, it, o in zip(requests, items, handler.predict(items), strict=True)]
    return out


def picture(write: list[list[float]], read: list[list[float]], path: Path, scale: int = 4) -> None:
    w, r = np.asarray(write), np.asarray(read)
    gap = np.full((2, w.shape[1]), 0.5)
    grid = np.concatenate([w / max(w.max(), 1e-9), gap, r / max(r.max(), 1e-9)])
    pixels = (255 * (1 - np.clip(grid, 0, 1))).astype(np.uint8)
    Image.fromarray(pixels).resize((pixels.shape[1] * scale, pixels.shape[0] * scale), Image.Resampling.NEAREST).save(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifacts", type=Path, default=Path("build/models/ntm"))
    p.add_argument("--card", type=Path, default=Path("models/ntm/card.json"))
    args = p.parse_args()
    handler = loaded_handler("ntm", args.artifacts)
    assert isinstance(handler, NTMHandler)
    sets = {n: inputs[:, :n, :BITS] for n, (inputs, _) in eval_sets(list(LENGTHS), SIZE, BITS, SEED).items()}
    metrics: dict[str, Any] = {}
    print("| L | bit errors per sequence | worst sequence | perfect copies % | sequences |\n|---|---|---|---|---|")
    for n, seqs in sets.items():
        responses = copies(handler, seqs)
        errors = np.array([r.errors for r in responses])
        metrics[f"copy_L{n}"] = {"bit_errors_per_sequence": round(float(errors.mean()), 3), "worst": int(errors.max()),
                                 "perfect_pct": round(100 * float(np.mean(errors == 0)), 1), "n": len(seqs)}  # fmt: skip
        m = metrics[f"copy_L{n}"]
        print(f"| {n} | {m['bit_errors_per_sequence']} | {m['worst']} | {m['perfect_pct']} | {len(seqs)} |", flush=True)
        if n in PICTURES:
            picture(responses[0].write_weights, responses[0].read_weights, args.card.parent / f"weights-L{n}.png")

    def int8_measure(h: Handler[Any, Any, Any, Any]) -> dict[str, Any]:  # the training length and 4x it
        return {f"bit_errors_L{n}": round(float(np.mean([r.errors for r in copies(h, sets[n])])), 3) for n in (20, 80)}

    card = {"task": "copy task (8-bit vectors)", "checkpoint_sha256": handler.meta.get("checkpoint_sha256"),
            "metrics": metrics, "precision": compare_precisions("ntm", args.artifacts, int8_measure)}  # fmt: skip
    args.card.write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {args.card}")


if __name__ == "__main__":
    main()
