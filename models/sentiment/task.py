"""The sentiment task's registry entry (service/tasks.py): a Tree-LSTM and the parser it reads plain text with."""

from __future__ import annotations

from pathlib import Path

from models.sentiment.handler import SentimentHandler
from models.sentiment.route import router
from models.sentiment.settings import SentimentSettings
from service.taskspec import ModelSpec, TaskSpec, TrainStep

TREE, PARSER = "checkpoints/sentiment.safetensors", "checkpoints/sentiment-parser.safetensors"

TASK = TaskSpec(
    name="sentiment",
    path="/sentiment",
    router=router,
    models=(
        ModelSpec("sentiment", SentimentHandler, SentimentSettings, (Path(TREE), Path(PARSER)), "models.sentiment.export:export"),
    ),
    card=Path("models/sentiment/card.json"),
    evaluate="evaluation.sentiment",
    train=(
        TrainStep(
            "models.sentiment.training.train", ("--name", "main", "--epochs", "20", "--out", TREE)
        ),  # keeps the best dev epoch
        TrainStep("models.sentiment.training.train_parser", ("--out", PARSER)),
    ),
)
