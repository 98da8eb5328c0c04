"""How far can four real speakers carry a fifth? A fast proxy for the leave-one-speaker-out folds.

A small CNN classifies single spoken digits (log-mel in, one of ten out) instead of spelling them, so a fold
trains in about a minute rather than the listen-attend-spell model's 25. Each variant changes one thing the
speech recipe can change (the training data, the audio augmentation, the feature normalization), and every
variant runs all five folds: train on four FSDD speakers' takes 5-49, score all 500 recordings of the fifth.

    python -m models.speech.training.digit_probe [--variants real,real+aug,...] [--epochs 20]

If no variant of a plain classifier comes near issue 17's 97% on the unseen speaker, the recipe's choices
are not what holds the spelling model back: the real voices are. The table goes to stdout and to
`runs/speech/digit_probe.json`.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.speech.features import Norm, front_end
from models.speech.training.augment import AugmentConfig, augment
from models.speech.training.data import CACHE, AudioCorpus, concat, fsdd_name, global_norm, load_audio
from models.speech.training.synth import DIGITS

FRAMES = 128  # 1.28 s: clips are cropped (centred) or zero-padded to this, after normalization
VARIANTS = {  # name: (use synthetic single digits, augment, normalization)
    "real": (False, False, "global"),
    "real+aug": (False, True, "global"),
    "real+synth": (True, False, "global"),
    "real+synth+aug": (True, True, "global"),
    "real+synth+aug per-utterance-norm": (True, True, "utterance"),
    "synth+aug only": ("only", True, "global"),
}


class DigitCNN(nn.Module):
    def __init__(self, n_mels: int = 40, width: int = 24) -> None:
        super().__init__()
        # a strided first layer: frames and mel bands halved at once keep a fold near a minute on 2 cores
        layers: list[nn.Module] = [nn.Conv2d(1, width, 5, stride=2, padding=2), nn.BatchNorm2d(width), nn.ReLU()]
        c_in = width
        for c in (width, 2 * width, 4 * width):
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c
        self.conv = nn.Sequential(*layers)
        self.drop = nn.Dropout(0.3)
        self.out = nn.Linear(2 * c_in, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, frames, mels)
        h = self.conv(x.unsqueeze(1))
        h = torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1)  # pooled over time and frequency
        return self.out(self.drop(h))


def fixed(f: np.ndarray) -> np.ndarray:
    if len(f) >= FRAMES:
        start = (len(f) - FRAMES) // 2
        return f[start : start + FRAMES]
    return np.pad(f, ((0, FRAMES - len(f)), (0, 0)))


def clips(audio: AudioCorpus) -> tuple[list[np.ndarray], np.ndarray]:
    """Every clip of a single-digit corpus, and its digit."""
    return [audio.clip(i) for i in range(len(audio))], np.array([DIGITS.index(t) for t in audio.texts])


def featurize(xs: list[np.ndarray], norm: Norm | None, warps: list[float] | None = None) -> np.ndarray:
    warps = warps or [1.0] * len(xs)
    return np.stack([fixed(front_end(x, norm, w)) for x, w in zip(xs, warps, strict=True)])


def augmented_copies(xs: list[np.ndarray], n: int, norm: Norm | None, seed: int) -> list[np.ndarray]:
    """n augmented feature sets of xs (the training recipe's AugmentConfig), drawn once and reused by epoch."""
    out = []
    for k in range(n):
        rng = random.Random(seed * 1000 + k)
        pairs = [augment(x, AugmentConfig(), rng) for x in xs]
        out.append(featurize([p[0] for p in pairs], norm, [p[1] for p in pairs]))
    return out


def train_eval(train_sets: list[np.ndarray], y: np.ndarray, test: np.ndarray, y_test: np.ndarray,
               epochs: int, seed: int) -> float:  # fmt: skip
    torch.manual_seed(seed)
    model = DigitCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        x = torch.from_numpy(train_sets[epoch % len(train_sets)])
        model.train()
        for idx in torch.randperm(len(y), generator=gen).split(64):
            loss = nn.functional.cross_entropy(model(x[idx]), torch.from_numpy(y)[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(b).argmax(1) for b in torch.from_numpy(test).split(256)]).numpy()
    return float(np.mean(pred == y_test))


def fold(fsdd: AudioCorpus, synth: AudioCorpus, speaker: str, variant: str, epochs: int, copies: int) -> float:
    use_synth, aug, normalize = VARIANTS[variant]
    names = [fsdd_name(s) for s in fsdd.sources]
    real = fsdd.subset([i for i, (spk, take) in enumerate(names) if spk != speaker and take >= 5])
    parts = [] if use_synth == "only" else [real]
    if use_synth:
        parts.append(synth.subset([i for i, t in enumerate(synth.texts) if t in DIGITS]))
    train = concat(parts)
    norm = global_norm(train) if normalize == "global" else None  # the same statistics the spelling model's runs use
    xs, y = clips(train)
    sets = augmented_copies(xs, copies, norm, seed=1) if aug else [featurize(xs, norm)]
    test_x, test_y = clips(fsdd.subset([i for i, (spk, _) in enumerate(names) if spk == speaker]))
    return train_eval(sets, y, featurize(test_x, norm), test_y, epochs, seed=1)


def main(argv: list[str] | None = None, log: Callable[[str], None] = print) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of: {', '.join(VARIANTS)}")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--copies", type=int, default=5, help="augmented copies of the training clips, cycled by epoch")
    p.add_argument("--cache", type=Path, default=CACHE)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    variants = args.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:  # before any fold runs, not after the first variant's minutes
        p.error(f"unknown variants {unknown}; choose from: {', '.join(VARIANTS)}")
    torch.set_num_threads(args.threads)
    fsdd, synth = load_audio("fsdd", args.cache), load_audio("synth_train", args.cache)
    speakers = sorted({fsdd_name(s)[0] for s in fsdd.sources})
    out_path = args.cache.parent / "digit_probe.json"
    results = json.loads(out_path.read_text()) if out_path.exists() else {}
    for variant in variants:
        t0 = time.time()
        results[variant] = {spk: round(100 * fold(fsdd, synth, spk, variant, args.epochs, args.copies), 1) for spk in speakers}
        out_path.write_text(json.dumps(results, indent=2))
        log(f"{variant}: {results[variant]} ({time.time() - t0:.0f} s)")
    log(f"| variant | {' | '.join(speakers)} | mean | worst |")
    log(f"|---|{'---|' * (len(speakers) + 2)}")
    for variant, accs in results.items():
        vals = [accs[s] for s in speakers]
        log(f"| {variant} | {' | '.join(f'{v:.1f}' for v in vals)} | {np.mean(vals):.1f} | {min(vals):.1f} |")


if __name__ == "__main__":
    main()
