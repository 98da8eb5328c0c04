"""The int8 row of a model card: the same evaluation through the float32 and the int8 graphs, timed.

ONNX Runtime's dynamic quantization (export/common.py `export_int8`) is served with
SEQ2SERVE_<MODEL>__PRECISION=int8; this measures what it costs in quality and what it buys in time, on the
model's own dev set with its served search settings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.engine.handler import Handler
from service.engine.registry import loaded_handler

Measure = Callable[[Handler[Any, Any, Any, Any]], dict[str, Any]]


def compare_precisions(name: str, model_dir: Path, measure: Measure) -> dict[str, Any]:
    """{"fp32": metrics + seconds, "int8": metrics + seconds, "int8_speedup": fp32 s / int8 s}."""
    out: dict[str, Any] = {}
    for precision in ("fp32", "int8"):
        handler = loaded_handler(name, model_dir, precision=precision)
        t0 = time.perf_counter()
        metrics = measure(handler)
        out[precision] = {**metrics, "seconds": round(time.perf_counter() - t0, 2)}
        print(f"{name} {precision}: {out[precision]}", flush=True)
    out["int8_speedup"] = round(out["fp32"]["seconds"] / out["int8"]["seconds"], 2)
    return out
