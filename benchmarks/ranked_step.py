"""Offline translate search: the decoder step ranking its vocabulary vs the search reading the whole distribution.

    python -m benchmarks.ranked_step [--seconds 4] [--rounds 2] [--batches 8,32]

The served handler's graphs (float32 and int8), decoded on batches of Multi30k val sentences (beam 5, the
served defaults), alternating in one process so the machine's drift hits both alike:
- ranked: `EncoderDecoderGraphs` as served, whose `step_top` gives each row's K best and the source words'
  log-probabilities (the search reads only those);
- whole distribution: the same graphs behind a wrapper without `step_top`, so the search fetches the whole
  (rows x vocabulary) distribution and ranks it in numpy (the graph still computes its unused TopK).
Prints sentences/s per cell and the ranked / whole ratio.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from benchmarks.translate_batching import request_pool
from benchmarks.translate_bound import items
from models.training.paths import default_data_dir
from models.translate.search import decode
from service.engine.registry import loaded_handler
from service.engine.runtimes import RuntimeOptions
from service.settings import Settings


class WholeDistribution:
    """The graphs without `step_top`: the search falls back to the whole distribution."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def encode(self, *arrays: np.ndarray) -> list[np.ndarray]:
        return self.inner.encode(*arrays)

    def step(self, *arrays: np.ndarray) -> list[np.ndarray]:
        return self.inner.step(*arrays)


def rate(graphs: Any, work: list[Any], vocab: int, batch: int, seconds: float) -> float:
    """Sentences per second decoding `work` in batches of `batch` for about `seconds`."""
    started, done, i = time.perf_counter(), 0, 0
    while time.perf_counter() - started < seconds:
        decode(graphs, [work[(i + k) % len(work)].query for k in range(batch)], vocab)
        done, i = done + batch, i + batch
    return done / (time.perf_counter() - started)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--batches", default="8,32")
    args = p.parse_args()
    folder = Settings().artifacts_dir / "translate"
    handlers = {prec: loaded_handler("translate", folder, options=RuntimeOptions(device="cpu", precision=prec))
                for prec in ("fp32", "int8")}  # fmt: skip
    work = items(handlers["fp32"], request_pool(default_data_dir()))  # type: ignore[arg-type]
    vocab = len(handlers["fp32"].tgt_vocab)  # type: ignore[attr-defined]
    print("| batch | graphs | round | whole distribution sent/s | ranked in the graph sent/s | ratio |")
    print("|---|---|---|---|---|---|")
    for batch in (int(b) for b in args.batches.split(",")):
        for r in range(args.rounds):
            for prec, h in handlers.items():
                graphs = h.graph_runner()
                ranked = rate(graphs, work, vocab, batch, args.seconds)
                whole = rate(WholeDistribution(graphs), work, vocab, batch, args.seconds)
                print(f"| {batch} | {prec} | {r + 1} | {whole:.1f} | {ranked:.1f} | {ranked / whole:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
