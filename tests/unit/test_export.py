"""Exported graphs agree with eager PyTorch, and decoding through them gives the same hulls."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.hull.handler import HullHandler, HullItem
from models.hull.search import HullQuery, decode
from models.hull.settings import HullSettings
from service.engine.runtimes import RuntimeOptions, make_runtime
from service.tasks import MODELS
from tests.helpers import eager_graphs


def test_meta_records_verification_at_a_second_size(artifacts_dir: Path) -> None:
    meta = json.loads((artifacts_dir / "hull" / "meta.json").read_text())
    for graph in ("encode", "decode_step"):
        assert meta["graphs"][graph]["checked_at"] != [4, 12]  # not the example size it was traced with
        assert meta["graphs"][graph]["max_abs_diff"] < 1e-4


@pytest.mark.parametrize("runtime", ["onnx", "torchscript"])
def test_decoding_through_runtime_matches_eager(runtime: str, artifacts_dir: Path, hull_checkpoint: Path) -> None:
    handler = HullHandler("hull", artifacts_dir / "hull", HullSettings())
    handler.load(make_runtime(runtime, artifacts_dir / "hull", handler.graphs, RuntimeOptions(device="cpu")))
    rng = np.random.default_rng(7)
    qs = [HullQuery(rng.random((n, 2)).astype(np.float32), mode, k) for n, mode, k in
          [(5, "greedy", 1), (23, "beam", 3), (61, "constrained", 2), (9, "beam", 1)]]  # fmt: skip
    ours = handler.predict([HullItem(q, q.points.astype(np.float64), q.points.astype(np.float64), 1.0) for q in qs])
    ref = decode(eager_graphs(hull_checkpoint), qs)
    for a, b in zip(ours, ref, strict=True):
        assert a.order == b.order
        assert a.log_prob == pytest.approx(b.log_prob, abs=1e-3)


def test_shipped_checkpoint_exports_and_verifies(tmp_path: Path) -> None:
    """The committed checkpoint loads (safetensors, no pickle) and its graphs pass verification."""
    from models.hull.export import export

    meta = export(tmp_path / "hull", *MODELS["hull"].checkpoint_paths)
    assert meta["config"]["d_model"] >= 64
    assert all(g["max_abs_diff"] < 1e-4 for g in meta["graphs"].values())
