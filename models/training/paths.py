"""Where training and evaluation code finds the datasets."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def default_data_dir() -> Path:
    """$SEQ2SERVE_DATA_DIR, else ../shared/data next to the repo (where the team keeps the datasets)."""
    env = os.environ.get("SEQ2SERVE_DATA_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "data"
