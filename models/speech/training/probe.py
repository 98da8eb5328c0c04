"""Is a fold's failure on its held-out speaker a front-end mismatch? Rescore that speaker's recordings,
changed the ways a recording setup differs (silence around the word, gain, DC offset, tempo, vocal-tract
length), with the fold's chosen checkpoint.

    python -m models.speech.training.probe --speaker jackson

Prints the exact-digit accuracy for each change. If none moves it much, what the model lacks is voices, not
a different front end. Greedy decoding, as the folds score.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from models.speech.audio import resample
from models.speech.features import SAMPLE_RATE, front_end
from models.speech.training.checkpoint import load_checkpoint, read_norm
from models.speech.training.data import CACHE, Corpus, fsdd_name, load_audio
from models.speech.training.train import greedy_texts


def padded(x: np.ndarray, ms: float) -> np.ndarray:
    z = np.zeros(int(SAMPLE_RATE * ms / 1000), np.float32)
    return np.concatenate([z, x, z])


def trimmed(x: np.ndarray) -> np.ndarray:
    """Cut to 10 ms either side of where the 10 ms energy first and last exceeds 1% of its peak."""
    energy = np.convolve(x**2, np.ones(80) / 80, "same")
    active = np.where(energy > energy.max() * 0.01)[0]
    return x[max(0, active[0] - 80) : active[-1] + 80]


def faster(x: np.ndarray, factor: float) -> np.ndarray:
    return resample(x, int(SAMPLE_RATE * factor), SAMPLE_RATE).astype(np.float32)


CHANGES: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]] = {  # (audio change, mel warp)
    "as recorded": (lambda x: x, 1.0),
    "100 ms of silence added at both ends": (lambda x: padded(x, 100), 1.0),
    "silence trimmed": (trimmed, 1.0),
    "gain x0.25": (lambda x: x * 0.25, 1.0),
    "DC removed": (lambda x: (x - x.mean()).astype(np.float32), 1.0),
    "tempo x0.9": (lambda x: faster(x, 0.9), 1.0),
    "tempo x1.1": (lambda x: faster(x, 1.1), 1.0),
    **{f"mel warp {w}": ((lambda x: x), w) for w in (0.85, 0.9, 0.95, 1.05, 1.1, 1.15)},
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--speaker", default="jackson")
    p.add_argument("--checkpoint", type=Path, default=None, help="default: runs/speech/fold-<speaker>/best.safetensors")
    p.add_argument("--cache", type=Path, default=CACHE)
    args = p.parse_args()
    torch.set_num_threads(1)
    fsdd = load_audio("fsdd", args.cache)
    held = fsdd.subset([i for i, s in enumerate(fsdd.sources) if fsdd_name(s)[0] == args.speaker])
    checkpoint = args.checkpoint or Path(f"runs/speech/fold-{args.speaker}/best.safetensors")
    model, norm = load_checkpoint(checkpoint), read_norm(checkpoint)
    clips = [held.clip(i) for i in range(len(held))]
    print(f"| {args.speaker}'s {len(clips)} recordings, changed | exact digits |\n|---|---|")
    for name, (change, warp) in CHANGES.items():
        feats = [front_end(change(x), norm, warp) for x in clips]
        offsets = np.concatenate([[0], np.cumsum([len(f) for f in feats])]).astype(np.int64)
        heard = greedy_texts(model, Corpus(np.concatenate(feats).astype(np.float16), offsets, held.texts, held.sources))
        print(f"| {name} | {100 * np.mean([h == r for h, r in zip(heard, held.texts, strict=True)]):.1f}% |", flush=True)


if __name__ == "__main__":
    main()
