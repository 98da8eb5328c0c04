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


@pytest.mark.parametrize("runtime", ["onnx", "torchscript"])
def test_a_decoder_step_ranks_its_vocabulary_as_the_search_would(artifacts_dir: Path, runtime: str) -> None:
    """step_top's candidates are the whole distribution's best, ties to the lower id, and its src_logp the
    distribution at the given ids: what the search reads instead of the whole distribution."""
    import numpy as np

    from service.engine.runtimes import EncoderDecoderGraphs, make_runtime, read_meta

    folder = artifacts_dir / "translate"
    graphs = EncoderDecoderGraphs(make_runtime(runtime, folder, ["encode", "decode_step"], RuntimeOptions(device="cpu")),
                                  read_meta(folder))  # fmt: skip
    assert graphs.in_graph_top_k
    memory, keys, h0 = graphs.encode(np.array([[5, 6, 7, 8], [9, 10, 0, 0]]), np.array([4, 2]))
    rows = np.array([0, 0, 1])  # three hypotheses: two of the first sentence, one of the second
    y, mask = np.array([1, 7, 1]), np.arange(4)[None, :] < np.array([4, 4, 2])[:, None]
    arrays = (y, h0[rows], np.zeros((3, memory.shape[2]), np.float32), memory[rows], keys[rows], mask)
    logp, attn, p_gen, h, ctx = graphs.step(*arrays)
    vocab_ids = np.array([[4, 9, 11, 2], [4, 9, 11, 2], [13, 5, 0, 0]])
    top_logp, top_ids, src_logp, *rest = graphs.step_top(*arrays, vocab_ids, np.zeros(6, dtype=np.int64))
    np.testing.assert_array_equal(top_ids, np.argsort(-logp, axis=1, kind="stable")[:, :6])
    np.testing.assert_array_equal(top_logp, np.take_along_axis(logp, top_ids, axis=1))
    np.testing.assert_array_equal(src_logp, np.take_along_axis(logp, vocab_ids, axis=1))
    for a, b in zip(rest, [attn, p_gen, h, ctx], strict=True):
        np.testing.assert_array_equal(a, b)
