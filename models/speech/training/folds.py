"""Leave-one-speaker-out folds over the FSDD speakers: what the model does for a voice it has never heard.

    python -m models.speech.training.folds [--epochs 16] [--speakers jackson,theo] [--record-only]

For each speaker, `models.speech.training.train --name fold-<speaker> --held-out <speaker>` (one subprocess
per fold, each resumable: rerunning the command continues where it stopped) trains on the other speakers'
recordings and the synthetic speech, chooses its checkpoint on dev_fsdd and dev_synth, and scores every
recording of the held-out speaker. The folds' results (from runs/speech/fold-<speaker>/best.json) are
recorded in models/speech/folds.json, which `make eval` copies into the model card: each fold's exact-digit
accuracy and CER on its held-out speaker, what it heard most often instead of the right digit (its top
confusions, computed once per fold from the chosen checkpoint), and the mean and worst over finished folds.
Training scores greedy decoding; each fold is also scored once with the search /transcribe serves by default
(the checkpoint exported and decoded through the speech handler, as a request is), under "served".
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from models.speech.schemas import TranscribeOptions
from models.speech.settings import SpeechSettings
from models.speech.training.data import CACHE, fsdd_name, load_audio

RECORD = Path("models/speech/folds.json")
RUNS = Path("runs/speech")


def confusions(speaker: str, cache: Path, top: int = 6) -> list[dict[str, Any]]:
    """The chosen checkpoint's most frequent mistakes on the held-out speaker: [{said, heard, count}]."""
    import torch

    from models.speech.training.checkpoint import load_checkpoint, read_norm
    from models.speech.training.train import greedy_texts, run_splits

    torch.set_num_threads(1)
    best = RUNS / f"fold-{speaker}" / "best.safetensors"
    normalize = "utterance" if read_norm(best) is None else "global"
    corpus = run_splits(cache, [speaker], normalize).test[f"speaker_{speaker}"]
    heard = greedy_texts(load_checkpoint(best), corpus)
    pairs = Counter((ref, hyp) for hyp, ref in zip(heard, corpus.texts, strict=True) if hyp != ref)
    return [{"said": r, "heard": h, "count": n} for (r, h), n in pairs.most_common(top)]


def cached_confusions(speaker: str, cache: Path) -> list[dict[str, Any]]:
    path = RUNS / f"fold-{speaker}" / "confusions.json"
    best = RUNS / f"fold-{speaker}" / "best.safetensors"
    if not path.exists() or path.stat().st_mtime < best.stat().st_mtime:
        path.write_text(json.dumps(confusions(speaker, cache), indent=2))
    return list(json.loads(path.read_text()))


def served_scores(speaker: str, cache: Path) -> dict[str, Any]:
    """The fold's chosen checkpoint on its held-out speaker through what a request goes through: exported,
    loaded by the speech handler at the served precision, WAV bytes in, decoded with /transcribe's default
    options."""
    import tempfile

    from evaluation.speech import transcribe_all
    from models.speech.audio import wav_bytes
    from models.speech.export import export
    from models.speech.features import SAMPLE_RATE
    from models.speech.training.metrics import cer
    from service.engine.registry import loaded_handler

    fsdd = load_audio("fsdd", cache)
    held = fsdd.subset([i for i, src in enumerate(fsdd.sources) if fsdd_name(src)[0] == speaker])
    audio = [wav_bytes(held.clip(i), SAMPLE_RATE) for i in range(len(held))]
    beam, precision = served_search()
    with tempfile.TemporaryDirectory() as tmp:
        export(Path(tmp), RUNS / f"fold-{speaker}" / "best.safetensors")
        handler = loaded_handler("speech", Path(tmp), precision=precision)
        heard = transcribe_all(handler, audio, beam)  # type: ignore[arg-type]
    acc = 100 * float(np.mean([h == r for h, r in zip(heard, held.texts, strict=True)]))
    return {"beam_size": beam, "precision": precision, "accuracy": round(acc, 2), "cer": round(100 * cer(heard, held.texts), 2)}


def served_search() -> tuple[int, str]:
    """/transcribe's default beam and the server's default precision."""
    return TranscribeOptions().beam_size, SpeechSettings().precision


def cached_served(speaker: str, cache: Path) -> dict[str, Any]:
    path = RUNS / f"fold-{speaker}" / "served.json"
    best = RUNS / f"fold-{speaker}" / "best.safetensors"
    stale = not path.exists() or path.stat().st_mtime < best.stat().st_mtime
    old = {} if stale else json.loads(path.read_text())
    if (old.get("beam_size"), old.get("precision")) != served_search():  # not yet scored, or the defaults moved
        path.write_text(json.dumps(served_scores(speaker, cache), indent=2))
    return dict(json.loads(path.read_text()))


def fold_result(speaker: str, epochs: int) -> dict[str, Any] | None:
    """A fold's chosen checkpoint's scores, once its run has done every epoch; None before."""
    run = RUNS / f"fold-{speaker}"
    history, best = run / "history.json", run / "best.json"
    if not (best.exists() and history.exists()) or json.loads(history.read_text())["epochs_done"] < epochs:
        return None
    b = json.loads(best.read_text())
    held = b[f"speaker_{speaker}"]
    return {"speaker": speaker, "accuracy": held["acc"], "cer": held["cer"], "epoch": b["epoch"],
            "dev": {k: b[k] for k in ("dev_fsdd", "dev_synth", "dev_engine") if k in b}}  # fmt: skip


def recipe(train_args: list[str]) -> list[str]:
    """The training arguments that define the recipe: --threads changes the speed, not the model."""
    out, skip = [], False
    for a in train_args:
        if skip or a.startswith("--threads"):
            skip = a == "--threads"
            continue
        out.append(a)
    return out


def recorded_folds(epochs: int, args: list[str]) -> dict[str, dict[str, Any]]:
    """Folds already in folds.json for the same recipe: a fold's run folder does not outlive the machine
    it ran on, its recorded result does."""
    if not RECORD.exists():
        return {}
    old = json.loads(RECORD.read_text())
    if old["command"] != f"python -m models.speech.training.folds --epochs {epochs}" or old["train_args"] != args:
        return {}
    return {f["speaker"]: f for f in old["folds"]}


def served_summary(folds: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Mean and worst over the folds scored with the served search (None while a fold lacks it)."""
    served = [f.get("served") for f in folds]
    if not served or any(x is None for x in served):
        return None
    acc = [x["accuracy"] for x in served]
    return {"beam_size": served[0]["beam_size"], "precision": served[0]["precision"],
            "mean_accuracy": round(float(np.mean(acc)), 2), "worst_accuracy": min(acc),
            "mean_cer": round(float(np.mean([x["cer"] for x in served])), 2)}  # fmt: skip


def record(speakers: list[str], epochs: int, args: list[str], cache: Path) -> dict[str, Any]:
    """folds.json from every finished fold here, and from the record for folds whose runs are not here."""
    kept = recorded_folds(epochs, args)
    folds = []
    for s in speakers:
        if (r := fold_result(s, epochs)) is not None:
            folds.append({**r, "confusions": cached_confusions(s, cache), "served": cached_served(s, cache)})
        elif s in kept:
            folds.append(kept[s])
    acc = [f["accuracy"] for f in folds]
    out = {"command": f"python -m models.speech.training.folds --epochs {epochs}", "train_args": args, "speakers": speakers,
           "finished": len(folds), "folds": folds,
           "mean_accuracy": round(float(np.mean(acc)), 2) if acc else None, "worst_accuracy": min(acc) if acc else None,
           "mean_cer": round(float(np.mean([f["cer"] for f in folds])), 2) if folds else None,
           "served": served_summary(folds)}  # fmt: skip
    RECORD.write_text(json.dumps(out, indent=2) + "\n")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=16)
    p.add_argument("--speakers", default="", help="comma-separated (default: every FSDD speaker in the cache)")
    p.add_argument("--cache", type=Path, default=CACHE)
    p.add_argument("--record-only", action="store_true", help="only collect finished folds into folds.json")
    args, train_args = p.parse_known_args()
    found = sorted({fsdd_name(s)[0] for s in load_audio("fsdd", args.cache).sources})
    speakers = [s for s in args.speakers.split(",") if s] or found
    for speaker in [] if args.record_only else speakers:
        if fold_result(speaker, args.epochs) is None:
            cmd = [sys.executable, "-m", "models.speech.training.train", "--name", f"fold-{speaker}", "--held-out", speaker,
                   "--epochs", str(args.epochs), "--cache", str(args.cache),
                   "--out", str(RUNS / f"fold-{speaker}" / "best.safetensors"), *train_args]  # fmt: skip
            print(" ".join(cmd), flush=True)
            subprocess.run(cmd, check=True)
    print(json.dumps(record(found, args.epochs, recipe(train_args), args.cache), indent=2), flush=True)


if __name__ == "__main__":
    main()
