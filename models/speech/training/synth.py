"""Synthetic speech: three engines reading digit strings and short English sentences.

Recipe (all seeded, so the corpus is a function of the seed and the sentence sources):
- texts: strings of 1-6 spoken digits ("four two seven") and 3-4 word English sentences from the
  Tatoeba/Anki English-French pairs whose words are all among the 400 most frequent in that set;
- voices, split by engine and voice (VOICES):
  - train: espeak-ng (an accent x a voice variant) and flite's kal, kal16, awb and rms, each with a random
    speed (120-200 words a minute) and pitch (25-75 of espeak-ng's 0-99 scale; flite: the voice's mean F0
    scaled by 0.8-1.2);
  - dev ("dev_synth"): espeak-ng accents *and* variants that training never uses;
  - dev_engine: festival, an engine training never uses, with its ked and slt voices (ked is nobody's
    voice in training; slt is flite's too, so flite's slt is left out of training), at its own speed.
  Dev sentences are sentences that are not in train.
espeak-ng, flite and festival are Debian packages (`scripts/install-debian-deps.sh` installs them).
"""

from __future__ import annotations

import gzip
import os
import random
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.speech.audio import read_wav, resample
from models.speech.features import SAMPLE_RATE

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
ESPEAK_VOICES = {
    "train": (["en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland", "en-029"],
              ["m1", "m2", "m3", "m5", "m7", "f1", "f2", "f4", "adam", "david", "linda", "paul", "steph", "max"]),
    "dev": (["en-gb-x-gbclan", "en-gb-x-gbcwmd"], ["m4", "m6", "f3", "f5", "john", "annie"]),
}  # fmt: skip
FLITE_F0 = {"kal": 105, "kal16": 105, "awb": 110, "rms": 100, "slt": 170}  # each voice's own mean F0, Hz
FESTIVAL_VOICES = ["ked_diphone", "cmu_us_slt_arctic_hts"]
# Per split: the engines and the share of utterances each speaks.
ENGINES = {"train": {"espeak-ng": 0.5, "flite": 0.5}, "dev": {"espeak-ng": 1.0}, "dev_engine": {"festival": 1.0}}
FLITE_TRAIN = ["kal", "kal16", "awb", "rms"]
TOP_WORDS = 400


@dataclass(frozen=True)
class Utterance:
    text: str
    voice: str  # espeak-ng: accent+variant; flite, festival: the voice's name
    speed: int  # words a minute (160 is each engine's normal rate)
    pitch: int  # 0-99, 50 the voice's own (festival: unused)
    engine: str = "espeak-ng"


def missing_engines() -> list[str]:
    return [cmd for cmd in ("espeak-ng", "flite", "text2wave") if shutil.which(cmd) is None]


def synthesize(u: Utterance) -> list[float]:
    """Samples at SAMPLE_RATE (as a list so results pickle cheaply across threads)."""
    if u.engine == "espeak-ng":
        cmd = ["espeak-ng", "-v", u.voice, "-s", str(u.speed), "-p", str(u.pitch), "--stdout", u.text]
        wav = subprocess.run(cmd, capture_output=True, check=True, timeout=30).stdout
    elif u.engine == "flite":
        wav = _flite(u)
    elif u.engine == "festival":
        wav = _festival(u)
    else:
        raise ValueError(f"unknown engine {u.engine!r}")
    x, rate = read_wav(wav)
    return resample(x, rate, SAMPLE_RATE).tolist()


def synthesize_all(utterances: list[Utterance]) -> list[np.ndarray]:
    """Each utterance's float32 samples at SAMPLE_RATE, in order; the engines run as subprocesses, so threads
    keep every core busy."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return [np.asarray(x, dtype=np.float32) for x in pool.map(synthesize, utterances)]


def _flite(u: Utterance) -> bytes:
    f0 = FLITE_F0[u.voice] * (0.8 + 0.4 * u.pitch / 100)
    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        cmd = ["flite", "-voice", u.voice, "--setf", f"duration_stretch={160 / u.speed:.3f}",
               "--setf", f"int_f0_target_mean={f0:.0f}", "-t", u.text, "-o", out.name]  # fmt: skip
        subprocess.run(cmd, capture_output=True, check=True, timeout=30)
        return Path(out.name).read_bytes()


def _festival(u: Utterance) -> bytes:
    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        cmd = ["text2wave", "-eval", f"(voice_{u.voice})", "-eval", f"(Parameter.set 'Duration_Stretch {160 / u.speed:.3f})",
               "-o", out.name]  # fmt: skip
        subprocess.run(cmd, input=u.text.encode(), capture_output=True, check=True, timeout=60)
        return Path(out.name).read_bytes()


def tatoeba_sentences(data_dir: Path) -> list[str]:
    """Short lower-case English sentences made only of frequent words, sorted (deterministic)."""
    path = data_dir / "tatoeba_anki" / "fra-eng" / "fra.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        english = {line.split("\t", 1)[0].strip().lower().rstrip(".!?") for line in f}
    short = sorted(s for s in english if re.fullmatch(r"[a-z' ]+", s) and 3 <= len(s.split()) <= 4)
    counts = Counter(w for s in short for w in s.split())
    # Ties broken by the word itself: Counter.most_common breaks them by insertion order, which would follow
    # the set's string-hash order and so change from one process to the next (PYTHONHASHSEED).
    top = set(sorted(counts, key=lambda w: (-counts[w], w))[:TOP_WORDS])
    return [s for s in short if all(w in top for w in s.split())]


def digit_string(rng: random.Random) -> str:
    return " ".join(rng.choice(DIGITS) for _ in range(rng.randint(1, 6)))


def plan(split: str, sentences: list[str], n_digits: int, n_sentences: int, seed: int) -> list[Utterance]:
    """Texts and voices for one split (train, dev or dev_engine); `sentences` are that split's own sentences."""
    rng = random.Random(f"{seed}-{split}")
    texts = [digit_string(rng) for _ in range(n_digits)] + rng.sample(sentences, min(n_sentences, len(sentences)))
    engines, shares = list(ENGINES[split]), list(ENGINES[split].values())

    def engine() -> str:  # one engine draws nothing, so espeak-ng's dev set is the one earlier cards measured
        return engines[0] if len(engines) == 1 else rng.choices(engines, shares)[0]

    return [_voice(t, engine(), split, rng) for t in texts]


def _voice(text: str, engine: str, split: str, rng: random.Random) -> Utterance:
    if engine == "espeak-ng":
        accents, variants = ESPEAK_VOICES[split]
        voice = f"{rng.choice(accents)}+{rng.choice(variants)}"
        return Utterance(text, voice, rng.randint(120, 200), rng.randint(25, 75), engine)
    if engine == "flite":
        return Utterance(text, rng.choice(FLITE_TRAIN), rng.randint(120, 200), rng.randint(25, 75), engine)
    return Utterance(text, rng.choice(FESTIVAL_VOICES), rng.randint(140, 180), 50, engine)


def split_sentences(sentences: list[str], n_dev: int, seed: int) -> tuple[list[str], list[str]]:
    """(train, dev): dev sentences are never in train."""
    shuffled = sentences[:]
    random.Random(seed).shuffle(shuffled)
    return shuffled[n_dev:], shuffled[:n_dev]
