"""Check the KServe v2 surface with Triton's own client (tritonclient.http), against a running server.

    python -m venv .venv-triton && .venv-triton/bin/pip install 'tritonclient[http]==2.52.0'
    .venv-triton/bin/python benchmarks/v2_tritonclient.py [--url 127.0.0.1:8000] [--wav a.wav] [--image a.png]

tritonclient pins numpy < 2, so it lives in its own venv and this script imports nothing from the repo.
Every served model is asked for metadata and readiness and then inferred, with binary tensors in and
out (tritonclient's default); the script exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import tritonclient.http as httpclient


def infer(client: httpclient.InferenceServerClient, model: str, inputs: dict[str, np.ndarray], datatypes: dict[str, str]) -> dict:
    tensors = []
    for name, value in inputs.items():
        t = httpclient.InferInput(name, list(value.shape), datatypes[name])
        t.set_data_from_numpy(value, binary_data=True)
        tensors.append(t)
    meta = client.get_model_metadata(model)
    outputs = [httpclient.InferRequestedOutput(o["name"], binary_data=True) for o in meta["outputs"]]
    result = client.infer(model, tensors, outputs=outputs)
    return {o["name"]: result.as_numpy(o["name"]) for o in meta["outputs"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="127.0.0.1:8000")
    p.add_argument("--wav", help="a WAV file for the speech model")
    p.add_argument("--image", help="a PNG or JPEG for the caption models")
    args = p.parse_args()
    client = httpclient.InferenceServerClient(args.url)
    assert client.is_server_live() and client.is_server_ready(), "server not live/ready"
    print("server:", client.get_server_metadata())
    rng = np.random.default_rng(0)
    cases = {
        "hull": ({"POINTS": rng.random((30, 2)).astype(np.float32)}, {"POINTS": "FP32"}),
        "translate": ({"TEXT": np.array([b"Ein Mann f\xc3\xa4hrt Fahrrad.", b"Zwei Hunde spielen im Schnee."], dtype=np.object_)},
                      {"TEXT": "BYTES"}),
        "sentiment": ({"TEXT": np.array([b"A wonderful, moving film."], dtype=np.object_)}, {"TEXT": "BYTES"}),
    }  # fmt: skip
    if args.wav:
        cases["speech"] = ({"AUDIO": np.array([Path(args.wav).read_bytes()], dtype=np.object_)}, {"AUDIO": "BYTES"})
    if args.image:
        image = np.array([Path(args.image).read_bytes()], dtype=np.object_)
        for m in ("caption_grounded", "caption_photo"):
            cases[m] = ({"IMAGE": image}, {"IMAGE": "BYTES"})
    failed = 0
    for model, (inputs, dtypes) in cases.items():
        try:
            assert client.is_model_ready(model), f"{model} not ready"
            out = infer(client, model, inputs, dtypes)
            print(f"{model}: " + ", ".join(f"{k}={v.tolist()}" for k, v in out.items()))
        except Exception as exc:  # report every model, then fail
            failed += 1
            print(f"{model}: FAILED {type(exc).__name__}: {exc}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
