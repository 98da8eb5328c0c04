"""The translation task's registry entry (service/tasks.py)."""

from __future__ import annotations

from pathlib import Path

from models.translate.handler import TranslateHandler
from models.translate.route import router
from models.translate.settings import TranslateSettings
from service.taskspec import ModelSpec, TaskSpec, TrainStep

MAIN = "checkpoints/translate_main.safetensors"  # the first stage's output: a training run, not shipped

TASK = TaskSpec(
    name="translate",
    path="/translate",
    router=router,
    models=(
        ModelSpec(
            "translate",
            TranslateHandler,
            TranslateSettings,
            (Path("checkpoints/translate.safetensors"),),
            "models.translate.export:export",
        ),
    ),
    card=Path("models/translate/card.json"),
    evaluate="evaluation.translate",
    train=(
        TrainStep("models.translate.training.train", ("--name", "main", "--out", MAIN)),
        # Fine-tuning that teaches the copy mechanism to bring unseen names through (see the model card).
        TrainStep(
            "models.translate.training.train",
            (
                "--name",
                "copy_ft",
                "--init",
                MAIN,
                "--copy-aug",
                "0.8",
                "--copy-append",
                "0.4",
                "--lr",
                "2.5e-4",
                "--epochs",
                "3",
                "--out",
                "checkpoints/translate.safetensors",
            ),
        ),
    ),
)
