"""The shipped speech model (checkpoints/speech.safetensors) transcribes what its card says it can."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.speech.audio import read_wav, resample
from models.speech.features import SAMPLE_RATE, front_end
from models.speech.search import SpeechQuery, decode
from models.speech.training.checkpoint import load_checkpoint, read_norm
from models.speech.training.synth import Utterance, missing_engines, synthesize
from models.training.paths import default_data_dir
from tests.helpers import EagerGraphs

SHIPPED = Path(__file__).resolve().parents[2] / "checkpoints" / "speech.safetensors"
NORM = read_norm(SHIPPED)  # the shipped model's own front end: per utterance, or its global statistics
FSDD = default_data_dir() / "fsdd" / "recordings"


def transcribe(graphs: EagerGraphs, features: list) -> list[str]:
    from models.speech.chars import CHARS

    hyps = decode(graphs, [SpeechQuery(f, beam_size=4) for f in features])  # type: ignore[arg-type]
    return ["".join(CHARS[i] for i in h[0].ids if i > 3) for h in hyps]


@pytest.fixture(scope="module")
def graphs() -> EagerGraphs:
    model = load_checkpoint(SHIPPED)
    return EagerGraphs(model.listener, model.step)


@pytest.mark.skipif("espeak-ng" in missing_engines(), reason="needs espeak-ng (scripts/install-debian-deps.sh)")
def test_digit_strings_in_a_voice_it_never_heard(graphs: EagerGraphs) -> None:
    # en-gb-x-gbclan with variant m4: an accent and a variant kept out of training (dev voices).
    texts = ["four two seven", "nine one", "three eight zero five"]
    feats = [front_end(np.asarray(synthesize(Utterance(t, "en-gb-x-gbclan+m4", 160, 50)), dtype=np.float32), NORM) for t in texts]
    assert transcribe(graphs, feats) == texts


@pytest.mark.skipif(not FSDD.exists(), reason="needs ../shared/data/fsdd")
def test_real_recordings_of_single_digits(graphs: EagerGraphs) -> None:
    # Take 0 of every digit by every speaker here: dev recordings, never trained on.
    digits = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    files = sorted(FSDD.glob("*_0.wav"))
    assert len(files) >= 40
    feats, truth = [], []
    for f in files:
        x, rate = read_wav(f.read_bytes())
        feats.append(front_end(resample(x, rate, SAMPLE_RATE), NORM))
        truth.append(digits[int(f.name.split("_")[0])])
    got = transcribe(graphs, feats)
    assert sum(g == t for g, t in zip(got, truth, strict=True)) >= 0.9 * len(files)
