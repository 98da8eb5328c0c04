"""python -m export [--force] [--out build/models] [model ...]: export shipped checkpoints.

Without --force a model whose meta.json is newer than its checkpoint and model card is skipped, so
`make serve` can call this every time at no cost. A model with no checkpoint yet is skipped with a note.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from export import caption, hull, sentiment, speech, translate

# name -> (export function, its checkpoint, the other files whose change makes the export stale)
EXPORTERS: dict[str, tuple[Callable[[Path], Any], Path, list[Path]]] = {
    "hull": (hull.export, hull.CHECKPOINT, [hull.CARD]),
    "translate": (translate.export, translate.CHECKPOINT, [translate.CARD]),
    "speech": (speech.export, speech.CHECKPOINT, [speech.CARD]),
    "caption_photo": (caption.export_photo, caption.CHECKPOINTS["photo"], [caption.CARD]),
    "caption_grounded": (caption.export_grounded, caption.CHECKPOINTS["grounded"], [caption.CARD]),
    "sentiment": (sentiment.export, sentiment.CHECKPOINT, [sentiment.PARSER, sentiment.CARD]),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("models", nargs="*", default=list(EXPORTERS), help=f"which ({', '.join(EXPORTERS)})")
    p.add_argument("--out", type=Path, default=Path("build/models"))
    p.add_argument("--force", action="store_true")
    args = p.parse_args()
    for name in args.models:
        fn, checkpoint, others = EXPORTERS[name]
        if not checkpoint.exists():
            print(f"{name}: no checkpoint at {checkpoint} yet; skipped (the model stays disabled)")
            continue
        meta = args.out / name / "meta.json"
        newest = max(p.stat().st_mtime for p in [checkpoint, *others] if p.exists())
        if not args.force and meta.exists() and meta.stat().st_mtime >= newest:
            print(f"{name}: up to date ({meta})")
            continue
        print(f"{name}: exporting {checkpoint} -> {args.out / name}")
        fn(args.out / name)


if __name__ == "__main__":
    main()
