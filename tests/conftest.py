"""Session fixtures: a tiny seeded hull model, its checkpoint and exported graphs."""

from __future__ import annotations

from pathlib import Path

import pytest

from export.hull import export
from tests.helpers import tiny_hull_checkpoint


@pytest.fixture(scope="session")
def hull_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_hull_checkpoint(tmp_path_factory.mktemp("ckpt") / "hull.safetensors")


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory: pytest.TempPathFactory, hull_checkpoint: Path) -> Path:
    """build/models-like folder holding the tiny model's exported graphs (ONNX + TorchScript)."""
    root = tmp_path_factory.mktemp("artifacts")
    export(root / "hull", hull_checkpoint)
    return root
