"""The memory network's registry entry (service/tasks.py)."""

from __future__ import annotations

from pathlib import Path

from models.qa.handler import QAHandler
from models.qa.route import router
from models.qa.settings import QASettings
from service.taskspec import ModelSpec, TaskSpec, TrainStep

RUNS = (
    ("main", ()),
    ("seed2", ("--seed", "2")),
    ("seed3", ("--seed", "3")),
    ("gated-s1", ("--seed", "1", "--gated")),
    ("gated-s2", ("--seed", "2", "--gated")),
    ("gated-s3", ("--seed", "3", "--gated")),
    ("gated-s4", ("--seed", "4", "--gated")),
)

TASK = TaskSpec(
    name="qa",
    path="/qa",
    router=router,
    models=(ModelSpec("qa", QAHandler, QASettings, (Path("checkpoints/qa.safetensors"),), "models.qa.export:export"),),
    card=Path("models/qa/card.json"),
    evaluate="evaluation.qa",
    # Three seeds of the paper's recipe and four of GMemN2N's (gates between hops), then what validation chose
    # among them and their ensembles (models/qa/ensemble.json): the gated and the plain seed-3 runs together.
    train=(
        *(
            TrainStep("models.qa.training.train", ("--name", name, *flags, "--out", f"checkpoints/qa_{name}.safetensors"))
            for name, flags in RUNS
        ),
        TrainStep(
            "models.qa.training.ensemble",
            (*(f"checkpoints/qa_{name}.safetensors" for name, _ in RUNS), "--out", "checkpoints/qa.safetensors"),
        ),
    ),
)
