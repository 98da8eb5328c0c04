"""The speech task's registry entry (service/tasks.py)."""

from __future__ import annotations

from pathlib import Path

from models.speech.handler import SpeechHandler
from models.speech.route import router
from models.speech.settings import SpeechSettings
from service.taskspec import ModelSpec, TaskSpec, TrainStep

TASK = TaskSpec(
    name="speech",
    path="/transcribe",
    router=router,
    models=(
        ModelSpec(
            "speech", SpeechHandler, SpeechSettings, (Path("checkpoints/speech.safetensors"),), "models.speech.export:export"
        ),
    ),
    card=Path("models/speech/card.json"),
    evaluate="evaluation.speech",
    train=(
        # The corpus (FSDD recordings + espeak-ng, flite and festival speech, as audio), built once. The
        # leave-one-speaker-out folds that chose this recipe: python -m models.speech.training.folds.
        TrainStep("models.speech.training.data", skip_if_exists="runs/speech/data/dev_engine.npz"),
        # The folds' recipe (issue 17): augmentation, global feature normalization, 16 epochs.
        TrainStep(
            "models.speech.training.train",
            ("--name", "main", "--epochs", "16", "--normalize", "global", "--out", "checkpoints/speech.safetensors"),
        ),
    ),
)
