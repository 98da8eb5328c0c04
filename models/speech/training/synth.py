"""Synthetic training speech: espeak-ng reading digit strings and short English sentences.

Recipe (all seeded, so the corpus is a function of the seed and the sentence sources):
- texts: strings of 1-6 spoken digits ("four two seven") and 3-4 word English sentences from the
  Tatoeba/Anki English-French pairs whose words are all among the 400 most frequent in that set;
- voices: an espeak-ng accent x a voice variant, with a random speed (120-200 words a minute) and pitch
  (25-75). Train and dev use disjoint accents *and* disjoint variants, so dev measures unseen voices;
  dev sentences are sentences that are not in train.
espeak-ng is a Debian package (`scripts/install-debian-deps.sh` installs it).
"""

from __future__ import annotations

import gzip
import random
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from models.speech.audio import read_wav, resample
from models.speech.features import SAMPLE_RATE

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
VOICES = {
    "train": (["en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland", "en-029"],
              ["m1", "m2", "m3", "m5", "m7", "f1", "f2", "f4", "adam", "david", "linda", "paul", "steph", "max"]),
    "dev": (["en-gb-x-gbclan", "en-gb-x-gbcwmd"], ["m4", "m6", "f3", "f5", "john", "annie"]),
}  # fmt: skip
TOP_WORDS = 400


@dataclass(frozen=True)
class Utterance:
    text: str
    voice: str  # accent+variant
    speed: int  # words a minute
    pitch: int  # 0-99


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def synthesize(u: Utterance) -> list[float]:
    """Samples at SAMPLE_RATE (as a list so results pickle cheaply across threads)."""
    cmd = ["espeak-ng", "-v", u.voice, "-s", str(u.speed), "-p", str(u.pitch), "--stdout", u.text]
    wav = subprocess.run(cmd, capture_output=True, check=True, timeout=30).stdout
    x, rate = read_wav(wav)
    return resample(x, rate, SAMPLE_RATE).tolist()


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
    """Texts and voices for one split; `sentences` are that split's own sentences."""
    rng = random.Random(f"{seed}-{split}")
    accents, variants = VOICES[split]
    texts = [digit_string(rng) for _ in range(n_digits)] + rng.sample(sentences, min(n_sentences, len(sentences)))

    def voice() -> tuple[str, int, int]:
        return f"{rng.choice(accents)}+{rng.choice(variants)}", rng.randint(120, 200), rng.randint(25, 75)

    return [Utterance(t, *voice()) for t in texts]


def split_sentences(sentences: list[str], n_dev: int, seed: int) -> tuple[list[str], list[str]]:
    """(train, dev): dev sentences are never in train."""
    shuffled = sentences[:]
    random.Random(seed).shuffle(shuffled)
    return shuffled[n_dev:], shuffled[:n_dev]
