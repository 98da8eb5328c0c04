"""Offline engine throughput for /hull: handler.predict() at batch sizes 1..64, no HTTP.

    python -m benchmarks.hull_engine [--artifacts build/models/hull] [--seconds 5]

Same request pool as benchmarks/hull_batching.py. Reports ms per request and requests/s for each
batch size, and where the time goes (encoder graph, decode-step graph, search in Python), so that the
HTTP benchmark can be read against the engine's own ceiling.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.hull_batching import request_pool
from models.hull.handler import HullHandler
from models.hull.schemas import HullRequest
from models.hull.settings import HullSettings
from service.engine.runtimes import RuntimeOptions, make_runtime


class TimedRuntime:
    """Wraps a runtime and adds up the seconds spent in each graph."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.name, self.device = inner.name, inner.device  # type: ignore[attr-defined]
        self.seconds: dict[str, float] = defaultdict(float)

    def run(self, graph: str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        t0 = time.perf_counter()
        out = self.inner.run(graph, feeds)  # type: ignore[attr-defined]
        self.seconds[graph] += time.perf_counter() - t0
        return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifacts", type=Path, default=Path("build/models/hull"))
    p.add_argument("--runtime", default="onnx", choices=["onnx", "torchscript"])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--batch-sizes", default="1,4,16,32,64")
    args = p.parse_args()
    handler = HullHandler("hull", args.artifacts, HullSettings())
    runtime = TimedRuntime(make_runtime(args.runtime, args.artifacts, handler.graphs, RuntimeOptions(device="cpu")))
    handler.load(runtime)  # type: ignore[arg-type]
    items = [item for body in request_pool() for item in handler.decode(HullRequest(**body))]
    handler.predict(items[:8])  # warm-up
    print("| batch | requests/s | ms/request | encode % | decode_step % | search (Python) % |\n|---|---|---|---|---|---|")
    for bs in map(int, args.batch_sizes.split(",")):
        runtime.seconds.clear()
        done, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < args.seconds:
            start = done % len(items)
            handler.predict((items * 2)[start : start + bs])
            done += bs
        wall = time.perf_counter() - t0
        enc, dec = runtime.seconds["encode"], runtime.seconds["decode_step"]
        print(f"| {bs} | {done / wall:.0f} | {1000 * wall / done:.2f} | {100 * enc / wall:.0f} | {100 * dec / wall:.0f} | "
              f"{100 * (wall - enc - dec) / wall:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
