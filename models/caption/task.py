"""The captioning task's registry entry (service/tasks.py): two models behind POST /caption."""

from __future__ import annotations

from pathlib import Path

from models.caption.handler import GroundedCaptionHandler, PhotoCaptionHandler
from models.caption.route import router
from models.caption.settings import CaptionSettings
from service.taskspec import ModelSpec, TaskSpec, TrainStep

PHOTO, GROUNDED = "checkpoints/caption-photo.safetensors", "checkpoints/caption-grounded.safetensors"
TRAIN = "models.caption.training.train"

TASK = TaskSpec(
    name="caption",
    path="/caption",
    router=router,
    models=(
        ModelSpec("caption_photo", PhotoCaptionHandler, CaptionSettings, (Path(PHOTO),), "models.caption.export:export_photo"),
        ModelSpec(
            "caption_grounded",
            GroundedCaptionHandler,
            CaptionSettings,
            (Path(GROUNDED),),
            "models.caption.export:export_grounded",
        ),
    ),
    card=Path("models/caption/card.json"),  # one card, both models: {"photo": {...}, "grounded": {...}}
    evaluate="evaluation.caption",
    train=(
        TrainStep(TRAIN, ("--kind", "grounded", "--name", "grounded", "--epochs", "10", "--out", GROUNDED)),
        # The regularizer ablation the card reports (lambda = 0); make eval scores it too.
        TrainStep(
            TRAIN,
            (
                "--kind",
                "grounded",
                "--name",
                "grounded_reg0",
                "--reg",
                "0",
                "--epochs",
                "10",
                "--out",
                "checkpoints/caption-grounded-reg0.safetensors",
            ),
        ),
        TrainStep(
            TRAIN, ("--kind", "photo", "--name", "photo", "--reg", "0", "--epochs", "15", "--out", PHOTO)
        ),  # lambda = 0 won on dev
    ),
)
