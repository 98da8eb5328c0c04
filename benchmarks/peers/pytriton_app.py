"""Peer 2: a real Triton Inference Server (nvidia-pytriton), its dynamic batcher (max_batch_size 32, 5 ms
queue delay) in front of a Python model that runs the same graphs and search.

    .venv-pytriton/bin/python benchmarks/peers/pytriton_app.py --port 9002   (see benchmarks/translate_peers.py)

pytriton needs a venv made from Debian's own python3 (`/usr/bin/python3 -m venv .venv-pytriton`), not the
pyenv one: its bundled tritonserver links against the system's libpython.
"""

from __future__ import annotations

import argparse

import numpy as np
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig

from benchmarks.peers.common import answer, load, prepare, translate_batch

handler = load()


@batch
def infer(TEXT: np.ndarray) -> dict[str, np.ndarray]:
    pairs = [prepare(handler, {"text": t[0].decode("utf-8")}) for t in TEXT]
    hyps = translate_batch(handler, [item for _, item in pairs])
    texts = [answer(handler, req, item, h)["text"].encode() for (req, item), h in zip(pairs, hyps, strict=True)]
    return {"TRANSLATION": np.array(texts, dtype=np.object_).reshape(-1, 1)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=9002)
    args = p.parse_args()
    config = TritonConfig(http_port=args.port, grpc_port=args.port + 1, metrics_port=args.port + 2)
    with Triton(config=config) as triton:
        triton.bind(
            model_name="translate",
            infer_func=infer,
            inputs=[Tensor(name="TEXT", dtype=bytes, shape=(1,))],
            outputs=[Tensor(name="TRANSLATION", dtype=bytes, shape=(1,))],
            config=ModelConfig(max_batch_size=32, batcher=DynamicBatcher(max_queue_delay_microseconds=5000)),
        )
        triton.serve()


if __name__ == "__main__":
    main()
