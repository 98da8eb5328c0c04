"""The translation task's registry entry (service/tasks.py)."""

from __future__ import annotations

from pathlib import Path

from models.translate.handler import TranslateHandler
from models.translate.route import router
from models.translate.settings import TranslateSettings
from service.taskspec import ModelSpec, TaskSpec, TrainStep

MAIN = "checkpoints/translate_main.safetensors"  # the first stage's output: a training run, not shipped
COPY_FT = "checkpoints/translate_copy_ft.safetensors"  # after the copy fine-tuning; SCST starts here
SEED2 = "checkpoints/translate_seed2.safetensors"
MEMBER2 = "checkpoints/translate-2.safetensors"  # the served ensemble's second member
COPY_FT2 = "checkpoints/translate_copy_ft2.safetensors"  # member 2 after its copy fine-tuning; its SCST starts here


def copy_fine_tuning(name: str, init: str, out: str, *more: str) -> TrainStep:
    """Fine-tuning that teaches the copy mechanism to bring unseen names through (see the model card)."""
    args = ("--name", name, "--init", init, "--copy-aug", "0.8", "--copy-append", "0.4", "--lr", "2.5e-4", "--epochs", "3")
    return TrainStep("models.translate.training.train", (*args, *more, "--out", out))


# Served: a two-model ensemble (see the model card's "Sequence-level training and ensembling"), chosen on val.
TASK = TaskSpec(
    name="translate",
    path="/translate",
    router=router,
    models=(
        ModelSpec(
            "translate",
            TranslateHandler,
            TranslateSettings,
            (Path("checkpoints/translate.safetensors"), Path(MEMBER2)),
            "models.translate.export:export",
        ),
    ),
    card=Path("models/translate/card.json"),
    evaluate="evaluation.translate",
    train=(
        TrainStep("models.translate.training.train", ("--name", "main", "--out", MAIN)),
        copy_fine_tuning("copy_ft", MAIN, COPY_FT),
        # Member 1: self-critical sequence training on top (one epoch, sentence BLEU reward, greedy baseline).
        TrainStep(
            "models.translate.training.scst",
            (
                "--name",
                "scst",
                "--init",
                COPY_FT,
                "--epochs",
                "1",
                "--val-every",
                "100",
                "--out",
                "checkpoints/translate.safetensors",
            ),
        ),
        # Member 2: the same recipe from seed 2 (stopped after 15 epochs; its best was epoch 13), copy-tuned,
        # then the same SCST epoch.
        TrainStep("models.translate.training.train", ("--name", "seed2", "--seed", "2", "--epochs", "15", "--out", SEED2)),
        copy_fine_tuning("copy_ft2", SEED2, COPY_FT2, "--seed", "2"),
        TrainStep(
            "models.translate.training.scst",
            ("--name", "scst2", "--init", COPY_FT2, "--epochs", "1", "--val-every", "100", "--out", MEMBER2),
        ),
    ),
)
