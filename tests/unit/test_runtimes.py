"""ONNX Runtime's IO binding path (what a GPU uses) gives what the plain path gives, and keeps a repeated
input on the device instead of copying it again; int8 graphs load where they were exported."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.translate.schemas import TranslateRequest
from service.engine.registry import loaded_handler
from service.engine.runtimes import OnnxRuntime, RuntimeOptions
from tests.helpers import TRANSLATE_DE


def translations(artifacts_dir: Path, **options: object) -> list[list[int]]:
    handler = loaded_handler("translate", artifacts_dir / "translate", options=RuntimeOptions(device="cpu", **options))  # type: ignore[arg-type]
    items = handler.decode(TranslateRequest(text=TRANSLATE_DE, beam_size=3, max_length=12))
    return [[h.ids for h in hyps] for hyps in handler.predict(items)]


def test_io_binding_answers_like_the_plain_path(artifacts_dir: Path) -> None:
    assert translations(artifacts_dir, io_binding=True) == translations(artifacts_dir, io_binding=False)


def test_a_repeated_input_is_bound_once(artifacts_dir: Path) -> None:
    runtime = OnnxRuntime(artifacts_dir / "translate", ["encode"], RuntimeOptions(device="cpu", io_binding=True))
    import numpy as np

    src, lengths = np.array([[5, 6, 7]], dtype=np.int64), np.array([3], dtype=np.int64)
    first = runtime.run("encode", {"src": src, "src_len": lengths})
    value = runtime._on_device[("encode", "src")][1]
    again = runtime.run("encode", {"src": src, "src_len": lengths.copy()})
    assert runtime._on_device[("encode", "src")][1] is value  # same array object: not copied again
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))


def test_int8_graphs_are_exported_and_served(artifacts_dir: Path) -> None:
    int8 = translations(artifacts_dir, precision="int8")
    assert len(int8) == len(TRANSLATE_DE) and all(int8)
    with pytest.raises(ValueError, match="runtime=onnx"):
        loaded_handler("translate", artifacts_dir / "translate", runtime="torchscript", precision="int8")
