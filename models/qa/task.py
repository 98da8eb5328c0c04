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
    # Two seeds of the same recipe, then the ensemble of them that validation chose (models/qa/ensemble.json).
    train=(
        TrainStep("models.qa.training.train", ("--name", "main", "--out", "checkpoints/qa_main.safetensors")),
        TrainStep("models.qa.training.train", ("--name", "seed2", "--seed", "2", "--out", "checkpoints/qa_seed2.safetensors")),
        TrainStep(
            "models.qa.training.ensemble",
            ("checkpoints/qa_main.safetensors", "checkpoints/qa_seed2.safetensors", "--out", "checkpoints/qa.safetensors"),
        ),
    ),
)
