"""The neural Turing machine's registry entry (service/tasks.py)."""

from __future__ import annotations

from pathlib import Path

from models.ntm.handler import NTMHandler
from models.ntm.route import router
from models.ntm.settings import NTMSettings
from service.taskspec import ModelSpec, TaskSpec, TrainStep

TASK = TaskSpec(
    name="ntm",
    path="/ntm",
    router=router,
    models=(ModelSpec("ntm", NTMHandler, NTMSettings, (Path("checkpoints/ntm.safetensors"),), "models.ntm.export:export"),),
    card=Path("models/ntm/card.json"),
    evaluate="evaluation.ntm",
    train=(TrainStep("models.ntm.training.train", ("--run-dir", "runs/ntm", "--out", "checkpoints/ntm.safetensors")),),
)
