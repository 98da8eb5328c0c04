"""Session fixtures: tiny seeded models of every task, their checkpoints and exported graphs."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.caption import export as caption
from models.hull import export as hull
from models.ntm import export as ntm
from models.qa import export as qa
from models.sentiment import export as sentiment
from models.speech import export as speech
from models.translate import export as translate
from tests.helpers import (
    tiny_caption_checkpoint,
    tiny_hull_checkpoint,
    tiny_ntm_checkpoint,
    tiny_qa_checkpoint,
    tiny_sentiment_checkpoints,
    tiny_speech_checkpoint,
    tiny_translate_checkpoint,
)


@pytest.fixture(scope="session")
def hull_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_hull_checkpoint(tmp_path_factory.mktemp("ckpt") / "hull.safetensors")


@pytest.fixture(scope="session")
def translate_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_translate_checkpoint(tmp_path_factory.mktemp("ckpt") / "translate.safetensors")


@pytest.fixture(scope="session")
def speech_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_speech_checkpoint(tmp_path_factory.mktemp("ckpt") / "speech.safetensors")


@pytest.fixture(scope="session")
def caption_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ckpt")
    return {kind: tiny_caption_checkpoint(root / f"caption_{kind}.safetensors", kind) for kind in ("photo", "grounded")}


@pytest.fixture(scope="session")
def sentiment_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return tiny_sentiment_checkpoints(tmp_path_factory.mktemp("ckpt"))


@pytest.fixture(scope="session")
def artifacts_dir(
    tmp_path_factory: pytest.TempPathFactory,
    hull_checkpoint: Path,
    translate_checkpoint: Path,
    speech_checkpoint: Path,
    caption_checkpoints: dict[str, Path],
    sentiment_checkpoints: tuple[Path, Path],
) -> Path:
    """build/models-like folder holding the tiny models' exported graphs (ONNX + TorchScript)."""
    root = tmp_path_factory.mktemp("artifacts")
    hull.export(root / "hull", hull_checkpoint)
    translate.export(root / "translate", translate_checkpoint)
    speech.export(root / "speech", speech_checkpoint)
    for kind, checkpoint in caption_checkpoints.items():
        caption.export_kind(kind, root / f"caption_{kind}", checkpoint)
    sentiment.export(root / "sentiment", *sentiment_checkpoints)
    ntm.export(root / "ntm", tiny_ntm_checkpoint(tmp_path_factory.mktemp("ckpt") / "ntm.safetensors"))
    qa.export(root / "qa", tiny_qa_checkpoint(tmp_path_factory.mktemp("ckpt") / "qa.safetensors"))
    return root
