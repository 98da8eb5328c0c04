"""python -m export [--force] [--out build/models] [model ...]: export every served model's checkpoints.

The models, their checkpoints and exporters come from the task registry (service/tasks.py). Without
--force a model whose meta.json is newer than its checkpoints and model card is skipped, so `make serve`
can call this every time at no cost. A model whose checkpoints are missing is skipped with a note.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.tasks import MODELS, TASK_OF
from service.taskspec import ROOT, ModelSpec


def exporter(spec: ModelSpec) -> Callable[..., dict[str, Any]]:
    """The model's export function, `function(out_dir, *checkpoints)` (imported here: it needs torch)."""
    module, function = spec.export.split(":")
    fn: Callable[..., dict[str, Any]] = getattr(importlib.import_module(module), function)
    return fn


def up_to_date(spec: ModelSpec, meta: Path) -> bool:
    sources = [*spec.checkpoint_paths, ROOT / TASK_OF[spec.name].card]
    return meta.exists() and meta.stat().st_mtime >= max(p.stat().st_mtime for p in sources if p.exists())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="*", default=list(MODELS), help=f"which ({', '.join(MODELS)})")
    p.add_argument("--out", type=Path, default=Path("build/models"))
    p.add_argument("--force", action="store_true")
    args = p.parse_args()
    for name in args.models:
        spec = MODELS[name]
        missing = [c for c in spec.checkpoint_paths if not c.exists()]
        if missing:
            print(f"{name}: no checkpoint at {', '.join(map(str, missing))}; skipped (the model cannot be served)")
            continue
        meta = args.out / name / "meta.json"
        if not args.force and up_to_date(spec, meta):
            print(f"{name}: up to date ({meta})")
            continue
        print(f"{name}: exporting {', '.join(str(c.relative_to(ROOT)) for c in spec.checkpoint_paths)} -> {args.out / name}")
        shutil.rmtree(args.out / name, ignore_errors=True)  # no graphs left over from another export (one model vs an ensemble)
        exporter(spec)(args.out / name, *spec.checkpoint_paths)


if __name__ == "__main__":
    main()
