"""The convex-hull task's registry entry (service/tasks.py)."""

from __future__ import annotations

from pathlib import Path

from models.hull.handler import HullHandler
from models.hull.route import router
from models.hull.settings import HullSettings
from service.taskspec import ModelSpec, TaskSpec, TrainStep

TASK = TaskSpec(
    name="hull",
    path="/hull",
    router=router,
    models=(ModelSpec("hull", HullHandler, HullSettings, (Path("checkpoints/hull.safetensors"),), "models.hull.export:export"),),
    card=Path("models/hull/card.json"),
    evaluate="evaluation.hull",
    train=(TrainStep("models.hull.training.train", ("--out", "checkpoints/hull.safetensors")),),
)
