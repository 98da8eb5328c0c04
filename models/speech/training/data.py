"""Speech corpora: Free Spoken Digit recordings plus espeak-ng speech, as cached log-mel features.

    python -m models.speech.training.data [--data-dir ../shared/data]   # builds runs/speech/data/*.npz once

Splits:
- `train`: FSDD takes 5-49 of every available speaker + synthetic speech from the train voices;
- `dev_fsdd`: FSDD takes 0-4 (the dataset's own test indices: unseen recordings of the same speakers);
- `dev_synth`: synthetic speech from unseen voices, with sentences not in train.
"""

from __future__ import annotations

import argparse
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.speech.audio import load
from models.speech.features import SAMPLE_RATE, log_mel
from models.speech.training import synth
from models.training.paths import default_data_dir

CACHE = Path("runs/speech/data")
SPLITS = ("train", "dev_fsdd", "dev_synth")


@dataclass
class Corpus:
    """Variable-length features stored flat: utterance i is feats[offsets[i]:offsets[i + 1]]."""

    feats: np.ndarray  # (total frames, N_MELS) float16
    offsets: np.ndarray  # (n + 1,) int64
    texts: list[str]
    sources: list[str]  # "fsdd/<file>" or "espeak/<voice>"

    def __len__(self) -> int:
        return len(self.texts)

    def features(self, i: int) -> np.ndarray:
        return self.feats[self.offsets[i] : self.offsets[i + 1]].astype(np.float32)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, feats=self.feats, offsets=self.offsets, texts=np.array(self.texts), sources=np.array(self.sources))

    @classmethod
    def load(cls, path: Path) -> Corpus:
        z = np.load(path)
        return cls(z["feats"], z["offsets"], z["texts"].tolist(), z["sources"].tolist())

    @classmethod
    def from_audio(cls, clips: list[np.ndarray], texts: list[str], sources: list[str]) -> Corpus:
        feats = [log_mel(x) for x in clips]
        offsets = np.concatenate([[0], np.cumsum([len(f) for f in feats])]).astype(np.int64)
        return cls(np.concatenate(feats).astype(np.float16), offsets, texts, sources)


def fsdd_files(data_dir: Path, dev: bool) -> list[Path]:
    """Recordings named {digit}_{speaker}_{take}.wav; takes 0-4 are dev, the rest train."""
    files = sorted((data_dir / "fsdd" / "recordings").glob("*.wav"))
    return [f for f in files if (int(re.split(r"[_.]", f.name)[2]) < 5) == dev]


def fsdd_corpus(data_dir: Path, dev: bool) -> Corpus:
    files = fsdd_files(data_dir, dev)
    texts = [synth.DIGITS[int(f.name[0])] for f in files]
    return Corpus.from_audio([load(f, SAMPLE_RATE) for f in files], texts, [f"fsdd/{f.name}" for f in files])


def synth_corpus(utterances: list[synth.Utterance]) -> Corpus:
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        clips = [np.asarray(x, dtype=np.float32) for x in pool.map(synth.synthesize, utterances)]
    return Corpus.from_audio(clips, [u.text for u in utterances], [f"espeak/{u.voice}" for u in utterances])


def concat(parts: list[Corpus]) -> Corpus:
    offsets, start = [np.zeros(1, dtype=np.int64)], 0
    for p in parts:
        offsets.append(p.offsets[1:] + start)
        start += int(p.offsets[-1])
    return Corpus(np.concatenate([p.feats for p in parts]), np.concatenate(offsets),
                  [t for p in parts for t in p.texts], [s for p in parts for s in p.sources])  # fmt: skip


N_DIGITS, N_SENTENCES = 4000, 4000  # synthetic train utterances of each kind
N_DEV_DIGITS, N_DEV_SENTENCES = 400, 300


def synth_plans(data_dir: Path, seed: int = 1) -> tuple[list[synth.Utterance], list[synth.Utterance]]:
    """(train, dev) synthetic utterances; dev drops any text that train also has."""
    train_sents, dev_sents = synth.split_sentences(synth.tatoeba_sentences(data_dir), n_dev=N_DEV_SENTENCES, seed=seed)
    train = synth.plan("train", train_sents, N_DIGITS, N_SENTENCES, seed)
    seen = {u.text for u in train}
    dev = [u for u in synth.plan("dev", dev_sents, N_DEV_DIGITS, N_DEV_SENTENCES, seed) if u.text not in seen]
    return train, dev


def build(data_dir: Path, out: Path = CACHE, seed: int = 1) -> None:
    if not synth.espeak_available():
        raise SystemExit("espeak-ng is not installed: run scripts/install-debian-deps.sh")
    train_plan, dev_plan = synth_plans(data_dir, seed)
    print(f"synthesizing {len(train_plan)} train and {len(dev_plan)} dev utterances", flush=True)
    fsdd_train = fsdd_corpus(data_dir, dev=False)
    concat([fsdd_train, fsdd_train, synth_corpus(train_plan)]).save(out / "train.npz")  # real speech counts twice
    fsdd_corpus(data_dir, dev=True).save(out / "dev_fsdd.npz")
    synth_corpus(dev_plan).save(out / "dev_synth.npz")


def load_split(split: str, cache: Path = CACHE) -> Corpus:
    return Corpus.load(cache / f"{split}.npz")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=CACHE)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    build(args.data_dir or default_data_dir(), args.out, args.seed)
    for split in SPLITS:
        c = load_split(split, args.out)
        print(f"{split}: {len(c)} utterances, {c.offsets[-1] / 100 / 60:.1f} minutes")


if __name__ == "__main__":
    main()
