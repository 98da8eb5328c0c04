"""/transcribe: what beam search costs a client, against greedy decoding, in one server and one run.

    python -m benchmarks.speech_beam [--duration 10] [--closed 1,8] [--beams 1,4] [--repeats 2] [--artifacts build/models]

Two kinds of audio, each sent as JSON (`audio_base64`) one clip per request:
- `digit`: the real FSDD dev recordings (one spoken digit, about 0.4 s at 8 kHz; what the folds score);
- `sentence`: the model card's seven example sentences, synthesized by espeak-ng (1-2 s each).
For each kind and beam size, closed loops at each concurrency; the table gives throughput and latency, and
each beam's ratio to greedy decoding on the same audio at the same concurrency in the same pass. The beam
sizes share one server, and the passes alternate their order, so that a server still warming up or a noisy
neighbour shows as spread between passes, not as bias. Writes build/bench/speech_beam.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import loadgen
from benchmarks.server import running_server
from evaluation.speech import EXAMPLES
from models.speech.audio import wav_bytes
from models.speech.features import SAMPLE_RATE
from models.speech.training import synth
from models.speech.training.data import fsdd_files
from models.training.paths import default_data_dir
from service.tasks import MODELS


def clips(data_dir: Path) -> dict[str, list[bytes]]:
    digits = [f.read_bytes() for f in fsdd_files(data_dir, dev=True)]
    sentences = [wav_bytes(np.asarray(synth.synthesize(synth.Utterance(t, v, 150, 50)), np.float32), SAMPLE_RATE)
                 for t, v in EXAMPLES]  # fmt: skip
    return {"digit": digits, "sentence": sentences}


def bodies(audio: list[bytes], beam: int) -> list[dict[str, Any]]:
    return [{"audio_base64": base64.b64encode(a).decode(), "beam_size": beam} for a in audio]


def answered(body: dict, answer: dict) -> bool:
    return isinstance(answer.get("text"), str) and len(answer.get("transcripts", [])) == 1


def ratio_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row's throughput and p50 as a ratio to greedy's row of the same repeat, audio and concurrency."""
    greedy = {(r["repeat"], r["audio"], r["concurrency"]): r for r in rows if r["beam"] == 1}
    for r in rows:
        g = greedy.get((r["repeat"], r["audio"], r["concurrency"]))
        r["throughput_vs_greedy"] = round(r["throughput_rps"] / g["throughput_rps"], 2) if g and g["throughput_rps"] else None
        r["p50_vs_greedy"] = round(r["p50_ms"] / g["p50_ms"], 2) if g and g["p50_ms"] and r["p50_ms"] else None
    return rows


# Table columns (key = title): the progress line per cell, then the ratios, known once every cell is measured.
MEASURED = [(k, k) for k in ("repeat", "audio", "beam", "concurrency", "ok", "errors", "throughput_rps", "p50_ms", "p99_ms")]
COLUMNS = [*MEASURED, ("throughput_vs_greedy", "throughput_vs_greedy"), ("p50_vs_greedy", "p50_vs_greedy")]


async def measure(
    url: str, pools: dict[str, list[bytes]], beams: list[int], closed: list[int], duration: float, repeats: int
) -> list[dict[str, Any]]:
    rows = []
    for rep in range(repeats):
        for kind, audio in pools.items():
            for beam in beams if rep % 2 == 0 else beams[::-1]:  # alternate the order: drift shows as spread
                for row in await loadgen.sweep(url, bodies(audio, beam), closed, [], duration, 1.0, check=answered):
                    rows.append({"repeat": rep, "audio": kind, "beam": beam, **row})
                print(loadgen.markdown_table(rows[-1:], MEASURED).splitlines()[-1], flush=True)
    return ratio_rows(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--closed", type=loadgen._int_list, default=[1, 8])
    p.add_argument("--beams", type=loadgen._int_list, default=[1, 4])
    p.add_argument("--repeats", type=int, default=2, help="passes over the cells, in alternating order")
    p.add_argument("--artifacts", type=Path, default=Path("build/models"))
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=Path("build/bench"))
    args = p.parse_args()
    pools = clips(args.data_dir or default_data_dir())
    # The speech model alone, so that no other model's warm-up or threads share the cores.
    env = {f"SEQ2SERVE_{m.upper()}__ENABLED": str(m == "speech").lower() for m in MODELS}
    env |= {"SEQ2SERVE_ARTIFACTS_DIR": str(args.artifacts), "SEQ2SERVE_LOG_LEVEL": "warning"}
    with tempfile.TemporaryDirectory() as tmp, running_server(env, Path(tmp) / "server.log") as server:
        rows = asyncio.run(measure(f"{server.url}/transcribe", pools, args.beams, args.closed, args.duration, args.repeats))
    args.out.mkdir(parents=True, exist_ok=True)
    table = loadgen.markdown_table(rows, COLUMNS)
    (args.out / "speech_beam.md").write_text(table + "\n")
    (args.out / "speech_beam.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(f"\n{table}\nwrote {args.out}/speech_beam.md")


if __name__ == "__main__":
    main()
