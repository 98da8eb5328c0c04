"""Speech corpora: Free Spoken Digit recordings plus synthetic speech from three engines, cached as audio.

    python -m models.speech.training.data [--data-dir ../shared/data]   # builds runs/speech/data/*.npz once

The cache holds waveforms (8 kHz, 16-bit), not features, so that training can augment each utterance
afresh every epoch (models/speech/training/augment.py). Cached sets:
- `fsdd`: every FSDD recording of every available speaker ({digit}_{speaker}_{take}.wav);
- `synth_train`: synthetic speech from the train voices (espeak-ng and flite);
- `dev_synth`: espeak-ng voices training never uses, with sentences not in train;
- `dev_engine`: festival, an engine training never uses (its ked and slt voices), sentences not in train.

A run's splits (`run_splits`) hold out FSDD speakers by name: leave-one-speaker-out folds train on four
speakers' takes 5-49 and score the fifth speaker's every recording as `held_out_speaker`, never choosing a
checkpoint by it; `dev_fsdd` (the training speakers' takes 0-4, the dataset's own test indices) does that,
with `dev_synth`.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.speech.audio import load
from models.speech.features import SAMPLE_RATE, Norm, front_end, log_mel
from models.speech.training import synth
from models.training.paths import default_data_dir

CACHE = Path("runs/speech/data")
AUDIO_SETS = ("fsdd", "synth_train", "dev_synth", "dev_engine")
SELECTION = ("dev_fsdd", "dev_synth")  # the dev sets a run chooses its checkpoint by


@dataclass
class Corpus:
    """Variable-length features stored flat: utterance i is feats[offsets[i]:offsets[i + 1]]."""

    feats: np.ndarray  # (total frames, N_MELS) float16
    offsets: np.ndarray  # (n + 1,) int64
    texts: list[str]
    sources: list[str]  # "fsdd/<file>" or "<engine>/<voice>"

    def __len__(self) -> int:
        return len(self.texts)

    def features(self, i: int) -> np.ndarray:
        return self.feats[self.offsets[i] : self.offsets[i + 1]].astype(np.float32)

    @classmethod
    def from_audio(cls, clips: list[np.ndarray], texts: list[str], sources: list[str], norm: Norm | None = None) -> Corpus:
        feats = [front_end(x, norm) for x in clips]
        offsets = np.concatenate([[0], np.cumsum([len(f) for f in feats])]).astype(np.int64)
        return cls(np.concatenate(feats).astype(np.float16), offsets, texts, sources)


def global_norm(audio: AudioCorpus) -> Norm:
    """Global normalization's statistics of a training set, over its clips as they are (unaugmented)."""
    return Norm.of([log_mel(audio.clip(i), per_utterance=False) for i in range(len(audio))])


@dataclass
class AudioCorpus:
    """Variable-length clips stored flat: clip i is samples[offsets[i]:offsets[i + 1]] (16-bit, SAMPLE_RATE)."""

    samples: np.ndarray  # (total samples,) int16
    offsets: np.ndarray  # (n + 1,) int64
    texts: list[str]
    sources: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def clip(self, i: int) -> np.ndarray:
        return self.samples[self.offsets[i] : self.offsets[i + 1]].astype(np.float32) / 32767

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, samples=self.samples, offsets=self.offsets, texts=np.array(self.texts), sources=np.array(self.sources))

    @classmethod
    def load(cls, path: Path) -> AudioCorpus:
        z = np.load(path)
        return cls(z["samples"], z["offsets"], z["texts"].tolist(), z["sources"].tolist())

    @classmethod
    def from_clips(cls, clips: list[np.ndarray], texts: list[str], sources: list[str]) -> AudioCorpus:
        pcm = [(np.clip(x, -1, 1) * 32767).astype(np.int16) for x in clips]
        offsets = np.concatenate([[0], np.cumsum([len(x) for x in pcm])]).astype(np.int64)
        return cls(np.concatenate(pcm), offsets, texts, sources)

    def subset(self, idx: list[int]) -> AudioCorpus:
        """The clips `idx`, their 16-bit samples as stored (no round trip through float)."""
        pieces = [self.samples[self.offsets[i] : self.offsets[i + 1]] for i in idx]
        offsets = np.concatenate([[0], np.cumsum([len(p) for p in pieces])]).astype(np.int64)
        samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
        return AudioCorpus(samples, offsets, [self.texts[i] for i in idx], [self.sources[i] for i in idx])

    def features(self, norm: Norm | None = None) -> Corpus:
        """Log-mel features of every clip, unaugmented: what dev sets are scored on."""
        return Corpus.from_audio([self.clip(i) for i in range(len(self))], self.texts, self.sources, norm)


def concat(parts: list[AudioCorpus]) -> AudioCorpus:
    offsets, start = [np.zeros(1, dtype=np.int64)], 0
    for p in parts:
        offsets.append(p.offsets[1:] + start)
        start += int(p.offsets[-1])
    return AudioCorpus(np.concatenate([p.samples for p in parts]), np.concatenate(offsets),
                       [t for p in parts for t in p.texts], [s for p in parts for s in p.sources])  # fmt: skip


def fsdd_name(source: str) -> tuple[str, int]:
    """(speaker, take) of an FSDD recording's source name "fsdd/{digit}_{speaker}_{take}.wav"."""
    _, speaker, take = re.split(r"[_.]", source.split("/", 1)[1])[:3]
    return speaker, int(take)


def fsdd_files(data_dir: Path, dev: bool) -> list[Path]:
    """Recordings named {digit}_{speaker}_{take}.wav; takes 0-4 are dev, the rest train."""
    files = sorted((data_dir / "fsdd" / "recordings").glob("*.wav"))
    return [f for f in files if (fsdd_name(f"fsdd/{f.name}")[1] < 5) == dev]


def fsdd_audio(data_dir: Path) -> AudioCorpus:
    files = sorted((data_dir / "fsdd" / "recordings").glob("*.wav"))
    texts = [synth.DIGITS[int(f.name[0])] for f in files]
    return AudioCorpus.from_clips([load(f, SAMPLE_RATE) for f in files], texts, [f"fsdd/{f.name}" for f in files])


def synth_audio(utterances: list[synth.Utterance]) -> AudioCorpus:
    clips = synth.synthesize_all(utterances)
    return AudioCorpus.from_clips(clips, [u.text for u in utterances], [f"{u.engine}/{u.voice}" for u in utterances])


N_DIGITS, N_SENTENCES = 4000, 4000  # synthetic train utterances of each kind
N_DEV_DIGITS, N_DEV_SENTENCES = 400, 300


def synth_plans(data_dir: Path, seed: int = 1) -> dict[str, list[synth.Utterance]]:
    """Synthetic utterances per cached set (synth_train, dev_synth, dev_engine); dev sets drop any text
    that train also has."""
    train_sents, dev_sents = synth.split_sentences(synth.tatoeba_sentences(data_dir), n_dev=N_DEV_SENTENCES, seed=seed)
    train = synth.plan("train", train_sents, N_DIGITS, N_SENTENCES, seed)
    seen = {u.text for u in train}
    plans = {"synth_train": train}
    for split, name in (("dev", "dev_synth"), ("dev_engine", "dev_engine")):
        plans[name] = [u for u in synth.plan(split, dev_sents, N_DEV_DIGITS, N_DEV_SENTENCES, seed) if u.text not in seen]
    return plans


def build(data_dir: Path, out: Path = CACHE, seed: int = 1) -> None:
    missing = synth.missing_engines()
    if missing:
        raise SystemExit(f"{', '.join(missing)} not installed: run scripts/install-debian-deps.sh")
    fsdd_audio(data_dir).save(out / "fsdd.npz")
    for name, plan in synth_plans(data_dir, seed).items():
        print(f"synthesizing {len(plan)} utterances for {name}", flush=True)
        synth_audio(plan).save(out / f"{name}.npz")


def load_audio(name: str, cache: Path = CACHE) -> AudioCorpus:
    return AudioCorpus.load(cache / f"{name}.npz")


@dataclass
class RunSplits:
    train: AudioCorpus  # augmented afresh every epoch
    dev: dict[str, Corpus]  # scored every epoch; SELECTION chooses the checkpoint
    test: dict[str, Corpus]  # scored every epoch, never used to choose (a held-out speaker)
    norm: Norm | None = None  # global normalization's statistics (None: per utterance)


def run_splits(cache: Path, held_out: list[str], normalize: str = "utterance") -> RunSplits:
    """Train on the FSDD speakers not held out (takes 5-49, counted twice: real speech is scarcer than
    synthetic) and the synthetic train set; dev_fsdd is their takes 0-4; each held-out speaker is a test set.
    `normalize="global"` scores every set with the training set's own statistics (Norm)."""
    fsdd = load_audio("fsdd", cache)
    names = [fsdd_name(s) for s in fsdd.sources]
    unknown = set(held_out) - {spk for spk, _ in names}
    if unknown:
        raise SystemExit(f"no FSDD speaker {sorted(unknown)} in {cache / 'fsdd.npz'}")
    train_fsdd = fsdd.subset([i for i, (spk, take) in enumerate(names) if spk not in held_out and take >= 5])
    dev_fsdd = fsdd.subset([i for i, (spk, take) in enumerate(names) if spk not in held_out and take < 5])
    train = concat([train_fsdd, train_fsdd, load_audio("synth_train", cache)])
    norm = global_norm(train) if normalize == "global" else None
    dev = {"dev_fsdd": dev_fsdd.features(norm), **{n: load_audio(n, cache).features(norm) for n in ("dev_synth", "dev_engine")}}
    test = {f"speaker_{spk}": fsdd.subset([i for i, (s, _) in enumerate(names) if s == spk]).features(norm)
            for spk in held_out}  # fmt: skip
    return RunSplits(train, dev, test, norm)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=CACHE)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    build(args.data_dir or default_data_dir(), args.out, args.seed)
    for name in AUDIO_SETS:
        c = load_audio(name, args.out)
        print(f"{name}: {len(c)} utterances, {c.offsets[-1] / SAMPLE_RATE / 60:.1f} minutes")


if __name__ == "__main__":
    main()
