"""Evaluate the exported speech model on its dev sets, through the serving code (handler + ONNX Runtime).

    python -m evaluation.speech [--artifacts build/models/speech]

Audio is read from the dataset files and synthesized again from the recipe (models/speech/training/synth.py), then
goes through exactly what a request goes through: WAV bytes -> handler.decode -> batched beam search.
Reports character error rate (edits / reference characters) and utterance accuracy (exact transcript),
for greedy decoding and beam search, per set, per kind (digit strings, sentences) and per synthetic voice,
and writes models/speech/card.json with the leave-one-speaker-out fold table recorded by
models/speech/training/folds.py (models/speech/folds.json).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.precision import compare_precisions
from models.speech.audio import wav_bytes
from models.speech.features import SAMPLE_RATE
from models.speech.handler import SpeechHandler
from models.speech.schemas import TranscribeOptions
from models.speech.training import synth
from models.speech.training.data import fsdd_files, synth_plans
from models.speech.training.metrics import cer
from models.training.paths import default_data_dir
from service.engine.registry import loaded_handler
from service.engine.runtimes import read_meta
from service.schemas.common import Upload

CHUNK = 32
# (text, espeak-ng voice) for the model card's examples: dev voices (accent + variant unseen in training)
# except en-us+m1; the last-but-two has words outside the 400-word training vocabulary.
EXAMPLES = [("i want to go home", "en-gb-x-gbclan+m4"), ("where is the station", "en-gb-x-gbcwmd+f3"),
            ("seven three nine one two eight", "en-gb-x-gbclan+annie"), ("the weather is beautiful today", "en-gb-x-gbclan+m4"),
            ("quantum physics is fascinating", "en-gb-x-gbcwmd+john"), ("call me tomorrow", "en-us+m1"),
            ("i don't know", "en-gb-x-gbclan+m6")]  # fmt: skip


FOLDS = Path("models/speech/folds.json")


@dataclass
class DevSet:
    audio: list[bytes]  # WAV files
    refs: list[str]
    voices: list[str]  # "<engine>/<voice>" of a synthetic utterance; "" for a recording


def dev_sets(data_dir: Path, seed: int = 1) -> dict[str, DevSet]:
    """dev_fsdd, dev_synth (espeak-ng voices unseen in training) and dev_engine (festival, an engine unseen in
    training), built as in models/speech/training/data.py."""
    files = fsdd_files(data_dir, dev=True)
    sets = {"dev_fsdd": DevSet([f.read_bytes() for f in files], [synth.DIGITS[int(f.name[0])] for f in files], [""] * len(files))}
    plans = synth_plans(data_dir, seed)
    for name in ("dev_synth", "dev_engine"):
        audio = [wav_bytes(x, SAMPLE_RATE) for x in synth.synthesize_all(plans[name])]
        sets[name] = DevSet(audio, [u.text for u in plans[name]], [f"{u.engine}/{u.voice}" for u in plans[name]])
    return sets


def breakdown(d: DevSet) -> dict[str, list[int]]:
    """Indices per kind (digit strings, sentences) and per synthetic voice, when a set has more than one."""
    digits = [i for i, r in enumerate(d.refs) if all(w in synth.DIGITS for w in r.split())]
    other = [i for i in range(len(d.refs)) if i not in set(digits)]
    parts = {"digits": digits, "sentences": other} if digits and other else {}
    voices = sorted(set(d.voices))
    if len(voices) > 1:
        parts |= {v: [i for i, x in enumerate(d.voices) if x == v] for v in voices}
    return parts


def transcribe_all(handler: SpeechHandler, audio: list[bytes], beam_size: int) -> list[str]:
    opts = TranscribeOptions(beam_size=beam_size)
    out: list[str] = []
    for start in range(0, len(audio), CHUNK):
        requests = [Upload(a, opts) for a in audio[start : start + CHUNK]]
        items = [item for r in requests for item in handler.decode(r)]
        outputs = handler.predict(items)
        out += [handler.encode(r, [it], [hyps]).text for r, it, hyps in zip(requests, items, outputs, strict=True)]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifacts", type=Path, default=Path("build/models/speech"))
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--beams", default="1,4")
    p.add_argument("--card", type=Path, default=Path("models/speech/card.json"))
    p.add_argument("--examples", action="store_true", help="only transcribe the model card's example sentences")
    args = p.parse_args()
    handler = loaded_handler("speech", args.artifacts)
    assert isinstance(handler, SpeechHandler)
    if args.examples:
        audio = [wav_bytes(np.asarray(synth.synthesize(synth.Utterance(t, v, 150, 50)), np.float32), SAMPLE_RATE)
                 for t, v in EXAMPLES]  # fmt: skip
        for (text, voice), got in zip(EXAMPLES, transcribe_all(handler, audio, 1), strict=True):
            print(f"{text!r} ({voice}) -> {got!r}")
        return
    metrics: dict[str, Any] = {}
    sets = dev_sets(args.data_dir or default_data_dir())
    print("| dev set | search | CER % | utterance accuracy % | n | seconds |\n|---|---|---|---|---|---|")
    for name, d in sets.items():
        refs = d.refs
        for beam in (int(b) for b in args.beams.split(",")):
            t0 = time.time()
            hyps = transcribe_all(handler, d.audio, beam)
            c, acc = 100 * cer(hyps, refs), 100 * float(np.mean([h == r for h, r in zip(hyps, refs, strict=True)]))
            search = "greedy" if beam == 1 else f"beam{beam}"
            metrics[f"{name}_{search}"] = {"cer": round(c, 2), "accuracy": round(acc, 2), "n": len(refs)}
            print(f"| {name} | {search} | {c:.2f} | {acc:.2f} | {len(refs)} | {time.time() - t0:.0f} |", flush=True)
            for kind, part in breakdown(d).items():  # digit strings, sentences, voices separately
                h, r = [hyps[i] for i in part], [refs[i] for i in part]
                c, acc = 100 * cer(h, r), 100 * float(np.mean([a == b for a, b in zip(h, r, strict=True)]))
                metrics[f"{name}_{kind}_{search}"] = {"cer": round(c, 2), "accuracy": round(acc, 2), "n": len(r)}
                print(f"| {name}: {kind} | {search} | {c:.2f} | {acc:.2f} | {len(r)} | |", flush=True)
    sha = read_meta(args.artifacts).get("checkpoint_sha256")

    served = TranscribeOptions().beam_size

    def int8_measure(h: Any) -> dict[str, Any]:  # the served search, on every dev set
        return {f"{name}_beam{served}_cer": round(100 * cer(transcribe_all(h, d.audio, served), d.refs), 2)
                for name, d in sets.items()}  # fmt: skip

    folds = json.loads(FOLDS.read_text()) if FOLDS.exists() else None
    card = {"task": "speech to characters (FSDD + espeak-ng + flite)", "checkpoint_sha256": sha, "metrics": metrics,
            "folds": folds, "precision": compare_precisions("speech", args.artifacts, int8_measure)}  # fmt: skip
    args.card.write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {args.card}")


if __name__ == "__main__":
    main()
