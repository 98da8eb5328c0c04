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
    train=(TrainStep("models.qa.training.train", ("--name", "main", "--out", "checkpoints/qa.safetensors")),),
)
