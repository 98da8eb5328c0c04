"""/translate: serving efficiency and the physical bound, in one run (issue 7).

    python -m benchmarks.translate_bound [--duration 15] [--batches 8,32] [--json out.json]

Four measurements on the same request pool as benchmarks/translate_batching.py (Multi30k val sentences,
beam 5, the served defaults):
1. offline engine: the served handler's `predict` (tokenized queries -> ONNX Runtime graphs + numpy
   beam search), called directly on batches of B sentences: no HTTP, no queue, no JSON;
2. the service: `python -m service` (request-level batching, max_batch_size 32) driven over loopback
   HTTP by B closed-loop clients, so batches hold up to B requests; with predict in a thread of the
   server process (the default), and in a worker process of its own (SEQ2SERVE_TRANSLATE__WORKER=process);
   serving efficiency = (2) / (1) at the same B: what HTTP, JSON, queueing and the client cost;
3. work per request: the FLOPs of the encoder and of every decoder step the search actually ran
   (rows x per-row cost), counted with torch's FlopCounterMode on the same modules that were exported;
4. the machine's matmul rate: a large float32 GEMM in torch (the peak), and the rate ONNX Runtime
   reaches on the decoder step graph alone at 160 rows (32 requests x beam 5).
   Bound = the best of those rates / FLOPs per request: the throughput if the CPU did nothing but the
   model's arithmetic at its best matmul rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.hull_batching import machine
from benchmarks.loadgen import closed_loop
from benchmarks.server import running_server
from benchmarks.translate_batching import OFF, check, request_pool
from export.common import GraphSpec
from models.training.paths import default_data_dir
from models.translate.export import fused_graph_specs, graph_specs
from models.translate.handler import TranslateHandler
from models.translate.schemas import TranslateRequest
from models.translate.search import decode
from models.translate.training.checkpoint import load_checkpoint
from service.engine.registry import loaded_handler, runtime_options
from service.settings import ServerSettings, Settings
from service.tasks import MODELS

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class CallLog:
    """The shapes of every graph call one search made: (batch, src_len) per encode, (rows, src_len) per step."""

    encodes: list[tuple[int, int]] = field(default_factory=list)
    steps: list[tuple[int, int]] = field(default_factory=list)


class CountingGraphs:
    """Wraps a handler's graph runner and records call shapes (what the search really ran)."""

    def __init__(self, inner: Any, log: CallLog) -> None:
        self.inner, self.log = inner, log
        self.in_graph_top_k = getattr(inner, "in_graph_top_k", False)

    def encode(self, src: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
        self.log.encodes += [(1, int(n)) for n in lengths]  # padding is not work the model needs
        return self.inner.encode(src, lengths)

    def step(self, *arrays: np.ndarray) -> list[np.ndarray]:
        mask = arrays[5]
        self.log.steps += [(1, int(n)) for n in mask.sum(axis=1)]  # each row at its own source length
        return self.inner.step(*arrays)

    def step_top(self, *arrays: np.ndarray) -> list[np.ndarray]:
        self.log.steps += [(1, int(n)) for n in arrays[5].sum(axis=1)]
        return self.inner.step_top(*arrays)


class TimedGraphs:
    """Wraps a graph runner and adds up the seconds spent inside encode and step (ONNX Runtime)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.seconds = inner, {"encode": 0.0, "step": 0.0}
        self.in_graph_top_k = getattr(inner, "in_graph_top_k", False)

    def _timed(self, name: str, *arrays: np.ndarray, method: str = "") -> list[np.ndarray]:
        started = time.perf_counter()
        out = getattr(self.inner, method or name)(*arrays)
        self.seconds[name] += time.perf_counter() - started
        return out

    def encode(self, *arrays: np.ndarray) -> list[np.ndarray]:
        return self._timed("encode", *arrays)

    def step(self, *arrays: np.ndarray) -> list[np.ndarray]:
        return self._timed("step", *arrays)

    def step_top(self, *arrays: np.ndarray) -> list[np.ndarray]:
        return self._timed("step", *arrays, method="step_top")


def load_handler(settings: ServerSettings) -> TranslateHandler:
    handler = loaded_handler("translate", settings.artifacts_dir / "translate", settings.model("translate"),
                             options=runtime_options(settings))  # fmt: skip
    assert isinstance(handler, TranslateHandler)
    handler.predict([handler.example()])
    return handler


def items(handler: TranslateHandler, pool: list[dict[str, Any]]) -> list[Any]:
    return [handler.decode(TranslateRequest(**body))[0] for body in pool]


def offline_throughput(handler: TranslateHandler, work: list[Any], batch: int, duration_s: float) -> dict[str, Any]:
    """The served handler's predict on batches of `batch`; also the share of time inside ONNX Runtime."""
    timed = TimedGraphs(handler.graph_runner())
    done, i, started = 0, 0, time.perf_counter()
    while time.perf_counter() - started < duration_s:
        chunk = [work[(i + k) % len(work)] for k in range(batch)]
        decode(timed, [it.query for it in chunk], len(handler.tgt_vocab))  # type: ignore[arg-type]  # = predict
        done, i = done + batch, i + batch
    elapsed = time.perf_counter() - started
    return {"batch": batch, "sentences": done, "seconds": round(elapsed, 2), "sentences_per_s": round(done / elapsed, 2),
            "encode_share": round(timed.seconds["encode"] / elapsed, 3),
            "step_share": round(timed.seconds["step"] / elapsed, 3)}  # fmt: skip


def linear_cost(measure: Any, a: int, b: int) -> tuple[float, float]:
    """(intercept, slope) of a cost that is linear in one length, from two measurements."""
    fa, fb = measure(a), measure(b)
    slope = (fb - fa) / (b - a)
    return fa - slope * a, slope


def module_flops(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> float:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*inputs)
    return float(counter.get_total_flops())


def exported_modules(members: int) -> list[GraphSpec]:
    """The served encode and decode_step modules, as export/ traces them: the first member's own graphs, or
    the fused graphs of the `members` served (an ensemble's FLOPs are every member's)."""
    models = [load_checkpoint(c)[0].eval() for c in MODELS["translate"].checkpoint_paths[:members]]
    return graph_specs(models[0]) if members == 1 else fused_graph_specs(models)


def flops_per_request(handler: TranslateHandler, work: list[Any], specs: list[GraphSpec]) -> dict[str, float]:
    """Average encoder and decoder FLOPs per sentence of the pool, as the search ran it (batch of 32)."""
    encode, step = specs
    enc = linear_cost(lambda s: module_flops(encode.module, encode.make_inputs(1, s)), 10, 20)
    dec = linear_cost(lambda s: module_flops(step.module, step.make_inputs(1, s)), 10, 20)
    log = CallLog()
    counting = CountingGraphs(handler.graph_runner(), log)
    for k in range(0, len(work), 32):
        decode(counting, [it.query for it in work[k : k + 32]], len(handler.tgt_vocab))  # type: ignore[arg-type]
    enc_flops = sum(rows * (enc[0] + enc[1] * s) for rows, s in log.encodes)
    dec_flops = sum(rows * (dec[0] + dec[1] * s) for rows, s in log.steps)
    n = len(work)
    return {"encoder_gflop": enc_flops / n / 1e9, "decoder_gflop": dec_flops / n / 1e9,
            "total_gflop": (enc_flops + dec_flops) / n / 1e9, "decoder_rows_per_sentence": len(log.steps) / n,
            "step_mflop_per_row_at_15": (dec[0] + dec[1] * 15) / 1e6}  # fmt: skip


def calls_per_second(fn: Callable[[], object], seconds: float = 2.0) -> float:
    fn()  # the first call allocates and plans
    reps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        fn()
        reps += 1
    return reps / (time.perf_counter() - started)


def gemm_gflops(m: int, k: int, n: int, threads: int) -> float:
    torch.set_num_threads(threads)
    a, b = torch.randn(m, k), torch.randn(k, n)
    return 2 * m * k * n * calls_per_second(lambda: torch.mm(a, b)) / 1e9


def step_graph_gflops(handler: TranslateHandler, step: GraphSpec, rows: int, src_len: int, mflop_per_row: float) -> float:
    """The rate ONNX Runtime reaches on the decoder step graph alone: 32 requests x beam 5 rows, ranking
    the candidates a beam-5 copy search asks for."""
    inputs = [t.numpy() for t in step.make_inputs(rows, src_len)]
    inputs[0] = inputs[0] % len(handler.tgt_vocab)
    inputs[-1] = np.zeros(5 + src_len + 1, dtype=np.int64)
    graphs = handler.graph_runner()
    return rows * mflop_per_row * 1e6 * calls_per_second(lambda: graphs.step_top(*inputs)) / 1e9


async def service_throughput(
    pool: list[dict[str, Any]], batches: list[int], duration_s: float, worker: str
) -> list[dict[str, Any]]:
    env = {**OFF, "SEQ2SERVE_TRANSLATE__BATCHING": "request", "SEQ2SERVE_TRANSLATE__MAX_BATCH_SIZE": "32",
           "SEQ2SERVE_TRANSLATE__WORKER": worker}  # fmt: skip
    rows = []
    with running_server(env, ROOT / "runs" / "bench" / f"translate_bound_{worker}.log") as server:
        url = f"{server.url}/translate"
        for c in batches:
            result = await closed_loop(url, lambda i: pool[i % len(pool)], c, duration_s, warmup_s=3, check=check)
            rows.append(result.to_row())
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=15.0)
    p.add_argument("--batches", default="8,32")
    p.add_argument("--json", type=Path, default=ROOT / "runs" / "bench" / "translate_bound.json")
    args = p.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    pool = request_pool(default_data_dir())
    handler = load_handler(Settings())
    work = items(handler, pool)

    offline = [offline_throughput(handler, work, b, args.duration) for b in batches]
    served = {w: asyncio.run(service_throughput(pool, batches, args.duration, w)) for w in ("thread", "process")}
    specs = exported_modules(handler.members)
    flops = flops_per_request(handler, work, specs)
    threads = torch.get_num_threads()
    gemm = {f"torch_gemm_{n}_gflops": gemm_gflops(n, n, n, threads) for n in (512, 1024, 2048)}
    gemm["ort_step_graph_160_rows_gflops"] = step_graph_gflops(handler, specs[1], 160, 15, flops["step_mflop_per_row_at_15"])
    peak = max(gemm.values())  # the best float32 matmul rate seen on this machine, by either library
    rows = []
    bound = peak / flops["total_gflop"]
    for k, off in enumerate(offline):
        thread, process = served["thread"][k], served["process"][k]
        rows.append({"batch / clients": off["batch"], "offline sent/s": off["sentences_per_s"],
                     "service req/s (p99 ms)": f"{thread['throughput_rps']} ({thread['p99_ms']})",
                     "serving efficiency": round(thread["throughput_rps"] / off["sentences_per_s"], 3),
                     "service, worker=process, req/s (p99 ms)": f"{process['throughput_rps']} ({process['p99_ms']})",
                     "its efficiency": round(process["throughput_rps"] / off["sentences_per_s"], 3),
                     "bound sent/s": round(bound, 1),
                     "offline / bound": round(off["sentences_per_s"] / bound, 4),
                     "offline time in ORT step / encode": f"{off['step_share']:.0%} / {off['encode_share']:.0%}"})  # fmt: skip
    out = {"machine": machine(), "threads": threads, "flops": flops, "gemm": gemm, "offline": offline,
           "service": served, "rows": rows}  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2))
    print(json.dumps({k: out[k] for k in ("machine", "threads", "flops", "gemm")}, indent=2))
    print("| " + " | ".join(rows[0]) + " |\n|" + "---|" * len(rows[0]))
    for row in rows:
        print("| " + " | ".join(str(v) for v in row.values()) + " |")


if __name__ == "__main__":
    main()
