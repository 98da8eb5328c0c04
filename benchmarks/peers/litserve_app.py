"""Peer 3: LitServe with its dynamic batching (max_batch_size 32, batch_timeout 5 ms), one worker.

python benchmarks/peers/litserve_app.py --port 9003   (in a venv with litserve; see benchmarks/translate_peers.py)
"""

import argparse
from typing import Any

import litserve as ls

from benchmarks.peers.common import answer, load, prepare, translate_batch


class TranslateAPI(ls.LitAPI):
    def setup(self, device: str) -> None:
        self.handler = load()

    def decode_request(self, request):  # type: ignore[no-untyped-def]  # LitServe reads this annotation: leave it off
        return prepare(self.handler, request)

    def predict(self, batch: list[Any]) -> list[Any]:
        hyps = translate_batch(self.handler, [item for _, item in batch])
        return [answer(self.handler, req, item, h) for (req, item), h in zip(batch, hyps, strict=True)]

    def encode_response(self, output: dict[str, str]) -> dict[str, str]:
        return output


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=9003)
    args = p.parse_args()
    api = TranslateAPI(max_batch_size=32, batch_timeout=0.005, api_path="/translate")
    ls.LitServer(api, accelerator="cpu", workers_per_device=1).run(host="127.0.0.1", port=args.port, generate_client_file=False)
