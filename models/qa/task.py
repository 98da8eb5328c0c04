"""The memory network's registry entry (service/tasks.py)."""

from __future__ import annotations

from pathlib import Path

from models.qa.handler import QAHandler
from models.qa.route import router
from models.qa.settings import QASettings
from service.taskspec import ModelSpec, TaskSpec, TrainStep

TASK = TaskSpec(
    name="qa",
    path="/qa",
    router=router,
    models=(ModelSpec("qa", QAHandler, QASettings, (Path("checkpoints/qa.safetensors"),), "models.qa.export:export"),),
    card=Path("models/qa/card.json"),
    evaluate="evaluation.qa",
    # Three seeds of the same recipe, then what validation chose among them and their ensembles
    # (models/qa/ensemble.json).
    train=(
        TrainStep("models.qa.training.train", ("--name", "main", "--out", "checkpoints/qa_main.safetensors")),
        TrainStep("models.qa.training.train", ("--name", "seed2", "--seed", "2", "--out", "checkpoints/qa_seed2.safetensors")),
        TrainStep("models.qa.training.train", ("--name", "seed3", "--seed", "3", "--out", "checkpoints/qa_seed3.safetensors")),
        TrainStep(
            "models.qa.training.ensemble",
            (*(f"checkpoints/qa_{n}.safetensors" for n in ("main", "seed2", "seed3")), "--out", "checkpoints/qa.safetensors"),
        ),
    ),
)
