"""Speech data recipe: espeak-ng synthesis, disjoint train/dev voices and sentences, FSDD splits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.speech.features import SAMPLE_RATE
from models.speech.training import synth
from models.speech.training.data import fsdd_files
from models.training.paths import default_data_dir


def test_espeak_synthesizes_at_the_model_rate() -> None:
    # make test installs espeak-ng (scripts/install-debian-deps.sh), so this never skips in CI
    x = np.asarray(synth.synthesize(synth.Utterance("four two", "en-us+m1", 160, 50)), dtype=np.float32)
    assert 0.3 < len(x) / SAMPLE_RATE < 3 and np.abs(x).max() > 0.05


def test_plans_are_seeded_and_dev_uses_unseen_voices_and_sentences() -> None:
    sentences = [f"sentence {chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(50)]
    train_s, dev_s = synth.split_sentences(sentences, n_dev=10, seed=1)
    assert not set(train_s) & set(dev_s) and len(dev_s) == 10
    train = synth.plan("train", train_s, 20, 20, seed=1)
    dev = synth.plan("dev", dev_s, 20, 10, seed=1)
    assert train == synth.plan("train", train_s, 20, 20, seed=1)
    accent = lambda u: u.voice.split("+")  # noqa: E731
    assert not {accent(u)[0] for u in train} & {accent(u)[0] for u in dev}
    assert not {accent(u)[1] for u in train} & {accent(u)[1] for u in dev}
    assert all(120 <= u.speed <= 200 and 25 <= u.pitch <= 75 for u in train + dev)
    assert all(set(u.text) <= set("abcdefghijklmnopqrstuvwxyz' ") for u in train + dev)


@pytest.mark.skipif(not (default_data_dir() / "fsdd").exists(), reason="FSDD not present (see models/speech/MODEL_CARD.md)")
def test_fsdd_dev_is_the_first_five_takes_of_each_speaker_and_digit() -> None:
    dev, train = fsdd_files(default_data_dir(), dev=True), fsdd_files(default_data_dir(), dev=False)
    assert not {f.name for f in dev} & {f.name for f in train}
    assert all(int(Path(f).stem.split("_")[2]) < 5 for f in dev) and len(dev) * 9 == len(train)


@pytest.mark.skipif(not (default_data_dir() / "tatoeba_anki").exists(), reason="Tatoeba/Anki data not present")
def test_sentence_selection_is_the_same_in_every_process() -> None:
    """The corpus must not depend on string-hash order (it once did, through Counter.most_common ties)."""
    code = (
        "from models.speech.training.synth import tatoeba_sentences as t; "
        "from models.training.paths import default_data_dir as d; print(t(d()))"
    )

    def run(seed: str) -> str:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout

    outputs = {run("1"), run("2")}
    assert len(outputs) == 1 and len(outputs.pop()) > 1000
