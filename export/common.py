"""Shared export steps: ONNX (checked, then verified in ONNX Runtime), TorchScript, and meta.json.

Every graph is verified against eager PyTorch on inputs of a batch size and length different from
the example it was exported with, so a graph with a frozen axis fails the export, not a request.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch

from models.training.checkpoints import read_metadata

ATOL = 1e-4  # float32 graphs: a different op order in ORT moves results by ~1e-6; 1e-4 flags real bugs


@dataclass
class GraphSpec:
    name: str  # file stem: <name>.onnx / <name>.ts
    module: torch.nn.Module
    inputs: list[str]
    outputs: list[str]
    dynamic_axes: dict[str, dict[int, str]]
    make_inputs: Callable[[int, int], tuple[torch.Tensor, ...]]  # (batch, length) -> example inputs


class TopKStep(torch.nn.Module):
    """A decoder step that also ranks its vocabulary, so the search reads a few candidates per hypothesis
    instead of the whole distribution: `top_logp`, `top_ids` are each row's k best log-probabilities (k =
    the length of the input `k`, whose values are unused), best first, ties to the lower id (ONNX TopK);
    `src_logp` is each row's log-probability at the vocabulary ids `vocab_ids` (the source words a copy
    mechanism can copy)."""

    def __init__(self, step: torch.nn.Module) -> None:
        super().__init__()
        self.step = step

    def forward(
        self, y: torch.Tensor, h: torch.Tensor, ctx: torch.Tensor, memory: torch.Tensor, keys: torch.Tensor,
        mask: torch.Tensor, vocab_ids: torch.Tensor, k: torch.Tensor,
    ) -> tuple[torch.Tensor, ...]:  # fmt: skip
        logp, attn, p_gen, h_out, ctx_out = self.step(y, h, ctx, memory, keys, mask)
        top_logp, top_ids = logp.topk(k.shape[0], dim=1)
        return logp, attn, p_gen, h_out, ctx_out, top_logp, top_ids, logp.gather(1, vocab_ids)


def decode_step_spec(step: torch.nn.Module, ctx_dim: int, state_dim: int, attn: int, vocab: int) -> GraphSpec:
    """The `decode_step` graph every attention decoder here shares (translation, speech, captions):
    (y, h, ctx, memory, keys, mask, vocab_ids, k) -> (logp_vocab, attn, p_gen, h_out, ctx_out, top_logp,
    top_ids, src_logp), any number of hypotheses, memory positions and candidates (see TopKStep)."""

    def step_inputs(hyps: int, s: int) -> tuple[torch.Tensor, ...]:
        g = torch.Generator().manual_seed(hyps * 1000 + s)
        mask = torch.ones(hyps, s, dtype=torch.bool)
        mask[0, s - 2 :] = False
        r = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
        y = torch.randint(0, vocab, (hyps,), generator=g)
        vocab_ids = torch.randint(0, vocab, (hyps, s), generator=g)
        k = torch.zeros(min(vocab, s // 2 + 2), dtype=torch.int64)  # a k that differs with the checked length
        return y, r(hyps, state_dim), r(hyps, ctx_dim), r(hyps, s, ctx_dim), r(hyps, s, attn), mask, vocab_ids, k

    rows = ["y", "h", "ctx", "logp_vocab", "p_gen", "h_out", "ctx_out"]
    per_token = ["memory", "keys", "mask", "attn", "vocab_ids", "src_logp"]
    axes = {n: {0: "hyps"} for n in rows} | {n: {0: "hyps", 1: "src_len"} for n in per_token}
    axes |= {"k": {0: "top_k"}, "top_logp": {0: "hyps", 1: "top_k"}, "top_ids": {0: "hyps", 1: "top_k"}}
    inputs = ["y", "h", "ctx", "memory", "keys", "mask", "vocab_ids", "k"]
    outputs = ["logp_vocab", "attn", "p_gen", "h_out", "ctx_out", "top_logp", "top_ids", "src_logp"]
    return GraphSpec("decode_step", TopKStep(step), inputs, outputs, axes, step_inputs)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checkpoint_meta(model: str, checkpoint: Path, version_key: str, config: dict[str, Any], card: Path) -> dict[str, Any]:
    """meta.json's description of the model: name, version (a training counter from the checkpoint's
    metadata), checkpoint hash, constructor args, and the model card's metrics when `make eval` wrote them."""
    return {
        "model": model,
        "version": read_metadata(checkpoint).get(version_key, "0"),
        "checkpoint_sha256": sha256(checkpoint),
        "config": config,
        "card": json.loads(card.read_text()) if card.exists() else {},
    }


def export_onnx(spec: GraphSpec, out_dir: Path, batch: int, length: int) -> Path:
    path = out_dir / f"{spec.name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter warns that it is deprecated
        torch.onnx.export(
            spec.module,
            spec.make_inputs(batch, length),
            str(path),
            input_names=spec.inputs,
            output_names=spec.outputs,
            dynamic_axes=spec.dynamic_axes,
            opset_version=17,
            dynamo=False,
        )
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return path


def export_torchscript(spec: GraphSpec, out_dir: Path, batch: int, length: int) -> Path:
    path = out_dir / f"{spec.name}.ts"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated in favour of torch.export, but still runs
        traced = torch.jit.trace(spec.module, spec.make_inputs(batch, length), check_trace=False)
        traced.save(str(path))
    return path


def _as_tuple(out: Any) -> Sequence[torch.Tensor]:
    return out if isinstance(out, tuple | list) else (out,)


def verify(spec: GraphSpec, out_dir: Path, batch: int, length: int) -> float:
    """Max abs difference of ORT and TorchScript vs eager at (batch, length); raises above ATOL."""
    inputs = spec.make_inputs(batch, length)
    with torch.no_grad():
        expected = [t.numpy() for t in _as_tuple(spec.module(*inputs))]
        scripted = torch.jit.load(str(out_dir / f"{spec.name}.ts"))
        got_ts = [t.numpy() for t in _as_tuple(scripted(*inputs))]
    sess = ort.InferenceSession(str(out_dir / f"{spec.name}.onnx"), providers=["CPUExecutionProvider"])
    got_ort = sess.run(None, {n: t.numpy() for n, t in zip(spec.inputs, inputs, strict=True)})
    worst = 0.0
    for runtime, got in (("onnxruntime", got_ort), ("torchscript", got_ts)):
        for name, e, g in zip(spec.outputs, expected, got, strict=True):
            if e.shape != g.shape:
                raise AssertionError(f"{spec.name}/{name} via {runtime}: shape {g.shape} != eager {e.shape}")
            diff = float(np.max(np.abs(e - g))) if e.size else 0.0
            if diff > ATOL:
                raise AssertionError(f"{spec.name}/{name} via {runtime}: max |diff| {diff:.2e} > {ATOL}")
            worst = max(worst, diff)
    return worst


def export_int8(spec: GraphSpec, out_dir: Path, batch: int, length: int) -> float:
    """<name>.int8.onnx: ONNX Runtime's dynamic quantization of the graph (int8 weights; activations
    quantized per call), served with SEQ2SERVE_<MODEL>__PRECISION=int8. Returns its max abs difference from
    the float32 graph at (batch, length): a measure, not a check (quality is measured by `make eval`)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source, path = out_dir / f"{spec.name}.onnx", out_dir / f"{spec.name}.int8.onnx"
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # its advice on pre-processing
    quantize_dynamic(str(source), str(path), weight_type=QuantType.QInt8, per_channel=True)
    feeds = {n: t.numpy() for n, t in zip(spec.inputs, spec.make_inputs(batch, length), strict=True)}
    fp32, int8 = (ort.InferenceSession(str(f), providers=["CPUExecutionProvider"]).run(None, feeds) for f in (source, path))
    # Ids (a top-k's) are no measure of closeness: a near tie moved by quantization swaps two of them.
    pairs = [(a, b) for a, b in zip(fp32, int8, strict=True) if a.size and np.issubdtype(a.dtype, np.floating)]
    return max(float(np.max(np.abs(a - b))) for a, b in pairs)


def export_graphs(
    specs: list[GraphSpec], out_dir: Path, meta: dict[str, Any], example: tuple[int, int], check: tuple[int, int]
) -> dict[str, Any]:
    """Export every graph, verify each at `check` (batch, length) != `example`, write meta.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    graphs: dict[str, Any] = {}
    for spec in specs:
        spec.module.eval()
        export_onnx(spec, out_dir, *example)
        export_torchscript(spec, out_dir, *example)
        diff = verify(spec, out_dir, *check)
        int8_diff = export_int8(spec, out_dir, *check)
        graphs[spec.name] = {"inputs": spec.inputs, "outputs": spec.outputs, "max_abs_diff": diff, "checked_at": list(check),
                             "int8_max_abs_diff": int8_diff}  # fmt: skip
        print(f"  {spec.name}: verified at batch={check[0]} length={check[1]}, max |diff| {diff:.1e} (int8: {int8_diff:.1e})")
    meta = {**meta, "graphs": graphs}
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2))
    return meta
