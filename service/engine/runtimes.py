"""Runtimes run one exported graph at a time on numpy arrays: ONNX Runtime or TorchScript.

A model folder holds `<graph>.onnx` and `<graph>.ts` for each graph plus `meta.json`, which lists
each graph's input and output names in order (TorchScript modules take positional arguments).
torch is imported only when a TorchScript runtime is built, so the ONNX-only image needs no torch.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger("seq2serve")


@dataclass(frozen=True)
class RuntimeOptions:
    device: str = "auto"  # auto | cpu | cuda
    intra_op_threads: int = 0
    inter_op_threads: int = 1
    allow_spinning: bool = False
    torch_threads: int = 0
    precision: str = "fp32"  # fp32 | int8: ONNX Runtime's dynamically quantized graphs (<graph>.int8.onnx)
    io_binding: bool | None = None  # ONNX Runtime IO binding; None: on a GPU only
    members: int | None = None  # an ensemble's export: load only its first n members; None: all


class Runtime(Protocol):
    name: str  # "onnx" | "torchscript"
    device: str  # what actually runs it: "cpu" or "cuda"

    def run(self, graph: str, feeds: dict[str, np.ndarray], outputs: list[str] | None = None) -> list[np.ndarray]:
        """Run `graph` on named inputs; the named outputs (default: all, in the graph's declared order)."""
        ...


def read_meta(model_dir: Path) -> dict[str, Any]:
    path = model_dir / "meta.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make export` (or `python -m export`) first")
    return json.loads(path.read_text())


class OnnxRuntime:
    name = "onnx"

    def __init__(self, model_dir: Path, graphs: list[str], options: RuntimeOptions) -> None:
        import onnxruntime as ort

        available = ort.get_available_providers()
        use_cuda = options.device != "cpu" and "CUDAExecutionProvider" in available
        if options.device == "cuda" and not use_cuda:
            raise RuntimeError(f"device=cuda but ONNX Runtime offers only {available}")
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if use_cuda else ["CPUExecutionProvider"]
        self.device = "cuda" if use_cuda else "cpu"
        so = ort.SessionOptions()
        so.intra_op_num_threads = options.intra_op_threads
        so.inter_op_num_threads = options.inter_op_threads
        so.log_severity_level = 3  # ORT warns about every fallback node otherwise
        # Spinning threads keep a core busy between ops; the event loop serving HTTP needs that core.
        spin = "1" if options.allow_spinning else "0"
        so.add_session_config_entry("session.intra_op.allow_spinning", spin)
        so.add_session_config_entry("session.inter_op.allow_spinning", spin)
        suffix = ".int8.onnx" if options.precision == "int8" else ".onnx"
        missing = [g for g in graphs if not (model_dir / f"{g}{suffix}").exists()]
        if missing:
            raise FileNotFoundError(f"{model_dir}: no {', '.join(g + suffix for g in missing)}; run `make export`")
        self.sessions = {g: ort.InferenceSession(str(model_dir / f"{g}{suffix}"), so, providers=providers) for g in graphs}
        # On a GPU, inputs go through IO binding: an input array passed again (the same object: the search
        # keeps its padded memory slab while the active set is unchanged) stays on the device instead of
        # being copied over at every decoder step.
        self.io_binding = options.io_binding if options.io_binding is not None else use_cuda
        self._ort = ort
        self._on_device: dict[tuple[str, str], tuple[np.ndarray, Any]] = {}

    def run(self, graph: str, feeds: dict[str, np.ndarray], outputs: list[str] | None = None) -> list[np.ndarray]:
        if not self.io_binding:
            return list(self.sessions[graph].run(outputs, feeds))
        session, device = self.sessions[graph], "cuda" if self.device == "cuda" else "cpu"
        binding = session.io_binding()
        for name, array in feeds.items():
            cached = self._on_device.get((graph, name))
            if cached is None or cached[0] is not array:
                cached = (array, self._ort.OrtValue.ortvalue_from_numpy(array, device, 0))
                self._on_device[(graph, name)] = cached
            binding.bind_ortvalue_input(name, cached[1])
        for name in outputs or [out.name for out in session.get_outputs()]:
            binding.bind_output(name, device)
        session.run_with_iobinding(binding)
        return list(binding.copy_outputs_to_cpu())


class TorchScriptRuntime:
    name = "torchscript"

    def __init__(self, model_dir: Path, graphs: list[str], options: RuntimeOptions) -> None:
        import torch

        if options.precision != "fp32":
            raise ValueError(f"precision={options.precision} is served by runtime=onnx only (ONNX Runtime's quantization)")
        if options.torch_threads:
            torch.set_num_threads(options.torch_threads)
        use_cuda = options.device != "cpu" and torch.cuda.is_available()
        if options.device == "cuda" and not use_cuda:
            raise RuntimeError("device=cuda but torch sees no CUDA device")
        self._torch = torch
        self.device = "cuda" if use_cuda else "cpu"
        meta = read_meta(model_dir)
        self.inputs = {g: meta["graphs"][g]["inputs"] for g in graphs}
        self.outputs = {g: meta["graphs"][g]["outputs"] for g in graphs}
        self.modules = {g: torch.jit.load(str(model_dir / f"{g}.ts"), map_location=self.device) for g in graphs}

    def run(self, graph: str, feeds: dict[str, np.ndarray], outputs: list[str] | None = None) -> list[np.ndarray]:
        torch = self._torch
        args = [torch.from_numpy(np.ascontiguousarray(feeds[name])).to(self.device) for name in self.inputs[graph]]
        with torch.inference_mode():
            out = self.modules[graph](*args)
        out = out if isinstance(out, tuple | list) else (out,)
        if outputs is not None:
            out = [out[self.outputs[graph].index(name)] for name in outputs]
        return [t.detach().cpu().numpy() for t in out]


class EnsembleRuntime:
    """The runtimes of an ensemble's members (export layout: `<model_dir>/<member>/`, each with its graphs
    and meta.json, the members listed in the top meta.json), served when only some members are (settings'
    `members`) or the export has no fused graphs: searches run the members side by side through
    models.ensemble.EnsembleGraphs (Handler.graph_runner). With every member served, make_runtime serves the
    export's fused graphs (export/ensemble.py) instead, as one model."""

    def __init__(self, model_dir: Path, members: list[str], make: Callable[[Path], Runtime]) -> None:
        self.dirs = [model_dir / m for m in members]
        self.members = [make(d) for d in self.dirs]
        self.name = self.members[0].name
        self.device = self.members[0].device

    def run(self, graph: str, feeds: dict[str, np.ndarray], outputs: list[str] | None = None) -> list[np.ndarray]:
        raise RuntimeError(f"an ensemble has no graph {graph!r} of its own: decode through Handler.graph_runner()")


def make_runtime(kind: str, model_dir: Path, graphs: list[str], options: RuntimeOptions) -> Runtime:
    meta = read_meta(model_dir) if (model_dir / "meta.json").exists() else {}
    members = meta.get("members")
    # every member served, and the export fused them into one graph each (export/ensemble.py): serve those
    fused = "graphs" in meta and options.members in (None, len(members or []))
    if isinstance(members, list) and not fused:
        if options.members is not None and options.members > len(members):
            raise ValueError(f"members={options.members}, but {model_dir} is an ensemble of {len(members)}")
        chosen = members[: options.members]  # export order: member-0 first (the strongest, task recipe)
        return EnsembleRuntime(model_dir, chosen, lambda d: make_runtime(kind, d, graphs, options))
    if kind == "onnx":
        return OnnxRuntime(model_dir, graphs, options)
    if kind == "torchscript":
        return TorchScriptRuntime(model_dir, graphs, options)
    raise ValueError(f"unknown runtime {kind!r}: expected 'onnx' or 'torchscript'")


TOP_OUTPUTS = ("top_logp", "top_ids", "src_logp")  # what TopKStep (export/common.py) adds to a decoder step


class EncoderDecoderGraphs:
    """`encode(*arrays)` and `step(*arrays)` over a runtime: the interface every search calls.

    Positional arguments are matched to the graph's input names recorded in meta.json at export. A decoder
    step that ranks its own vocabulary (TopKStep) also offers `step_top`; `in_graph_top_k` says whether it does.
    """

    def __init__(self, runtime: Runtime, meta: dict[str, Any]) -> None:
        self._runtime = runtime
        self._inputs = {g: meta["graphs"][g]["inputs"] for g in ("encode", "decode_step")}
        outputs = meta["graphs"]["decode_step"]["outputs"]
        self.in_graph_top_k = all(n in outputs for n in TOP_OUTPUTS)
        self._step_outputs = [n for n in outputs if n not in TOP_OUTPUTS]
        self._top_outputs = [*TOP_OUTPUTS, *self._step_outputs[1:]]  # everything but the whole distribution

    def _feeds(self, graph: str, arrays: tuple[np.ndarray, ...]) -> dict[str, np.ndarray]:
        return {n: np.ascontiguousarray(a) for n, a in zip(self._inputs[graph], arrays, strict=True)}

    def encode(self, *arrays: np.ndarray) -> list[np.ndarray]:
        return self._runtime.run("encode", self._feeds("encode", arrays))

    def step(self, *arrays: np.ndarray) -> list[np.ndarray]:
        """-> logp_vocab, attn, p_gen, h, ctx (the ranking inputs, where the graph has them, fed unused)."""
        if self.in_graph_top_k:
            rows, width = arrays[5].shape  # mask
            arrays = (*arrays, np.zeros((rows, width), dtype=np.int64), np.zeros(1, dtype=np.int64))
        return self._runtime.run("decode_step", self._feeds("decode_step", arrays), self._step_outputs)

    def step_top(self, *arrays: np.ndarray) -> list[np.ndarray]:
        """(y, h, ctx, memory, keys, mask, vocab_ids, k) -> top_logp, top_ids, src_logp, attn, p_gen, h, ctx."""
        return self._runtime.run("decode_step", self._feeds("decode_step", arrays), self._top_outputs)
