"""Request- vs step-level batching for /translate or /caption, one server per configuration, same load.

    python -m benchmarks.batching --task translate|caption [--runtime onnx|torchscript] [--device cpu|cuda]
        [--precision fp32|int8] [--duration 15] [--closed 8,32] [--open 20] [--out build/bench]

/translate: one Multi30k val sentence per request (beam 5), or, where the data is absent, sentences drawn
from the repo's test corpus. /caption: grounded scenes drawn by the repo (model=grounded, beam 3), sent as
JSON with base64 PNGs. Every answer is checked. Writes <task>.md and <task>.json under --out; what
benchmarks/gpu.sh runs on a GPU machine, and the CPU counterpart here. Compare as ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import loadgen
from benchmarks.hull_batching import machine
from benchmarks.loadgen import markdown_table
from benchmarks.server import running_server
from service.tasks import MODELS as REGISTRY

MODELS = tuple(name.upper() for name in REGISTRY)
SERVED = {"translate": ("TRANSLATE",), "caption": ("CAPTION_GROUNDED",)}


def translate_pool() -> list[dict[str, Any]]:
    from benchmarks.translate_batching import request_pool
    from models.training.paths import default_data_dir
    from tests.helpers import TRANSLATE_DE

    if (default_data_dir() / "multi30k").exists():
        return request_pool(default_data_dir())
    return [{"text": t} for t in TRANSLATE_DE]


def caption_pool(size: int = 64) -> list[dict[str, Any]]:
    from PIL import Image

    from models.caption.training.scenes import make_scene

    pool = []
    for k in range(size):
        buf = io.BytesIO()
        Image.fromarray(make_scene(11, k, "eval").image).save(buf, format="PNG")
        pool.append({"image_base64": base64.b64encode(buf.getvalue()).decode(), "model": "grounded", "return_attention": False})
    return pool


def check(_: dict[str, Any], answer: dict[str, Any]) -> bool:
    if "results" in answer:
        return len(answer["results"]) == 1 and bool(answer["results"][0]["translations"][0]["text"])
    return bool(answer.get("caption"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=list(SERVED), default="translate")
    p.add_argument("--runtime", default="onnx")
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="fp32")
    p.add_argument("--duration", type=float, default=15)
    p.add_argument("--closed", type=lambda s: [int(x) for x in s.split(",") if x], default=[8, 32])
    p.add_argument("--open", type=lambda s: [float(x) for x in s.split(",") if x], default=[])
    p.add_argument("--artifacts", default="build/models")
    p.add_argument("--out", type=Path, default=Path("build/bench"))
    args = p.parse_args()
    pool = translate_pool() if args.task == "translate" else caption_pool()
    served = SERVED[args.task]
    env = {f"SEQ2SERVE_{m}__ENABLED": str(m in served).lower() for m in MODELS}
    env |= {f"SEQ2SERVE_{m}__{k}": v for m in served for k, v in (("RUNTIME", args.runtime), ("PRECISION", args.precision),
                                                                   ("MAX_QUEUE", "1024"))}  # fmt: skip
    env |= {"SEQ2SERVE_ARTIFACTS_DIR": args.artifacts, "SEQ2SERVE_DEVICE": args.device, "SEQ2SERVE_LOG_LEVEL": "warning",
            "SEQ2SERVE_REQUEST_TIMEOUT_S": "60"}  # fmt: skip
    path = "/translate" if args.task == "translate" else "/caption"
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for batching in ("request", "step"):
            config = env | {f"SEQ2SERVE_{m}__BATCHING": batching for m in served}
            with running_server(config, Path(tmp) / f"{batching}.log") as server:
                results[batching] = asyncio.run(
                    loadgen.sweep(server.url + path, pool, args.closed, args.open, args.duration, 3, check)
                )
    lines = [f"machine: {machine()}; {path}, runtime {args.runtime}, device {args.device}, precision {args.precision}\n"]
    for name, rows in results.items():
        lines.append(f"### batching={name}\n\n{markdown_table(rows)}\n")
    lines.append(
        "| load | request req/s | step req/s | ratio | request p99 s | step p99 s | p99 ratio |\n|---|---|---|---|---|---|---|"
    )
    for a, b in zip(results["request"], results["step"], strict=True):
        load = f"{a['concurrency']} clients" if a["mode"] == "closed" else f"{a['rate']:g} req/s offered"
        ta, tb, pa, pb = a["throughput_rps"], b["throughput_rps"], a["p99_ms"], b["p99_ms"]
        lines.append(f"| {load} | {ta:.1f} | {tb:.1f} | {tb / ta:.2f}x | {pa / 1000:.3f} | {pb / 1000:.3f} | {pb / pa:.2f}x |")
    text = "\n".join(lines)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.task}.md").write_text(text + "\n")
    (args.out / f"{args.task}.json").write_text(json.dumps({"machine": machine(), "args": vars(args) | {"out": str(args.out)},
                                                            "results": results}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
