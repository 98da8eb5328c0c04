"""Speech data recipe: three synthesis engines, train/dev split by engine and voice, disjoint sentences,
FSDD splits by take and by speaker, and the training augmentation."""

from __future__ import annotations

import json
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


@pytest.mark.parametrize(
    "utterance",
    [synth.Utterance("four two", "en-us+m1", 160, 50), synth.Utterance("four two", "awb", 140, 30, "flite"),
     synth.Utterance("four two", "kal16", 200, 75, "flite"), synth.Utterance("four two", "ked_diphone", 160, 50, "festival"),
     synth.Utterance("four two", "cmu_us_slt_arctic_hts", 150, 50, "festival")],
)  # fmt: skip
def test_every_engine_synthesizes_at_the_model_rate(utterance: synth.Utterance) -> None:
    # make test installs the engines (scripts/install-debian-deps.sh), so this never skips in CI
    x = np.asarray(synth.synthesize(utterance), dtype=np.float32)
    assert 0.3 < len(x) / SAMPLE_RATE < 3 and np.abs(x).max() > 0.05


def test_plans_are_seeded_and_dev_uses_unseen_voices_and_sentences() -> None:
    sentences = [f"sentence {chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(50)]
    train_s, dev_s = synth.split_sentences(sentences, n_dev=10, seed=1)
    assert not set(train_s) & set(dev_s) and len(dev_s) == 10
    train = synth.plan("train", train_s, 40, 20, seed=1)
    dev, dev_engine = synth.plan("dev", dev_s, 20, 10, seed=1), synth.plan("dev_engine", dev_s, 20, 10, seed=1)
    assert train == synth.plan("train", train_s, 40, 20, seed=1)
    assert {u.engine for u in train} == {"espeak-ng", "flite"} and {u.engine for u in dev} == {"espeak-ng"}
    assert {u.engine for u in dev_engine} == {"festival"}  # an engine training never hears
    espeak = [u.voice.split("+") for u in train if u.engine == "espeak-ng"]
    assert not {a for a, _ in espeak} & {u.voice.split("+")[0] for u in dev}
    assert not {v for _, v in espeak} & {u.voice.split("+")[1] for u in dev}
    # festival's slt is flite's slt: neither is in training; ked is nobody's voice in training
    assert {u.voice for u in train if u.engine == "flite"} <= {"kal", "kal16", "awb", "rms"}
    assert all(120 <= u.speed <= 200 and 25 <= u.pitch <= 75 for u in train + dev)
    assert all(set(u.text) <= set("abcdefghijklmnopqrstuvwxyz' ") for u in train + dev + dev_engine)


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


def test_augmentation_is_seeded_and_keeps_speech_recognizable_in_shape() -> None:
    import random

    from models.speech.features import log_mel
    from models.speech.training.augment import AugmentConfig, add_noise, augment, change_speed, shift_pitch

    rng = np.random.default_rng(0)
    t = np.arange(8000) / SAMPLE_RATE
    x = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    a, wa = augment(x, AugmentConfig(), random.Random(5))
    b, wb = augment(x, AugmentConfig(), random.Random(5))
    assert np.array_equal(a, b) and wa == wb and 0.9 <= wa <= 1.1
    assert len(change_speed(x, 1.1)) == round(len(x) / 1.1) and len(shift_pitch(x, 2.0)) == len(x)
    # a 2-semitone shift moves the tone's frequency by 2 ** (2 / 12) and keeps the length
    peak = lambda y: np.argmax(np.abs(np.fft.rfft(y[1000:7000]))) * SAMPLE_RATE / 6000  # noqa: E731
    assert peak(shift_pitch(x, 2.0)) == pytest.approx(220 * 2 ** (2 / 12), rel=0.03)
    noisy = add_noise(x, 10.0, pink=True, rng=rng)
    assert 10 * np.log10(np.mean(x**2) / np.mean((noisy - x) ** 2)) == pytest.approx(10.0, abs=0.01)
    off, w = augment(x, AugmentConfig.off(), random.Random(1))
    assert np.array_equal(off, x) and w == 1.0
    assert not np.array_equal(log_mel(x, 1.08), log_mel(x))  # the vocal-tract warp changes the features


def test_global_normalization_uses_the_training_statistics_not_each_utterance() -> None:
    from models.speech.features import Norm, front_end
    from models.speech.training.data import AudioCorpus, global_norm

    rng = np.random.default_rng(0)
    clips = [rng.standard_normal(4000).astype(np.float32) * g for g in (0.05, 0.2)]
    audio = AudioCorpus.from_clips(clips, ["one", "two"], ["a", "b"])
    norm = global_norm(audio)
    both = np.concatenate([front_end(audio.clip(i), norm) for i in range(2)])
    assert np.allclose(both.mean(axis=0), 0, atol=1e-3) and np.allclose(both.std(axis=0), 1, atol=1e-3)
    quiet, loud = (front_end(audio.clip(i), norm) for i in range(2))
    assert loud.mean() > quiet.mean() + 1  # gain survives global normalization...
    assert np.allclose(front_end(audio.clip(0)).mean(axis=0), 0, atol=1e-3)  # ...not the per-utterance one
    again = Norm.from_dict(norm.as_dict())  # as a checkpoint and meta.json carry it
    assert np.allclose(front_end(audio.clip(1), again), loud, atol=1e-3)
    with pytest.raises(ValueError, match="positive"):
        Norm.from_dict({"mean": [0.0] * 40, "std": [0.0] * 40})


def test_folds_keep_recorded_results_of_the_same_recipe_whose_runs_are_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.speech.training import folds

    record = tmp_path / "folds.json"
    monkeypatch.setattr(folds, "RECORD", record)
    monkeypatch.setattr(folds, "RUNS", tmp_path / "runs")  # no run folder here: only the record knows the fold
    old = {"speaker": "jackson", "accuracy": 78.6, "cer": 19.15, "epoch": 15, "dev": {}, "confusions": []}

    def recorded(epochs: int, args: list[str]) -> dict[str, object]:
        record.write_text(json.dumps({"command": "python -m models.speech.training.folds --epochs 16", "train_args": [],
                                      "folds": [old]}))  # fmt: skip
        return folds.record(["jackson", "lucas"], epochs, args, tmp_path)

    assert folds.recipe(["--threads", "1", "--augment", "off", "--threads=2"]) == ["--augment", "off"]
    out = recorded(16, folds.recipe(["--threads", "1"]))
    assert out["folds"] == [old] and out["finished"] == 1 and out["mean_accuracy"] == 78.6
    assert out["served"] is None  # a fold not scored with the served search: no summary that leaves it out
    assert json.loads(record.read_text())["folds"] == [old]  # written back, not dropped
    assert recorded(16, ["--augment", "off"])["finished"] == 0  # another recipe
    assert recorded(20, [])["finished"] == 0  # another length


def test_folds_summarize_the_served_search_over_every_fold() -> None:
    from models.speech.training.folds import served_summary

    folds = [{"served": {"beam_size": 4, "precision": "int8", "accuracy": a, "cer": c}} for a, c in ((80.0, 20.0), (96.0, 4.0))]
    want = {"beam_size": 4, "precision": "int8", "mean_accuracy": 88.0, "worst_accuracy": 80.0, "mean_cer": 12.0}
    assert served_summary(folds) == want
    assert served_summary([*folds, {}]) is None
