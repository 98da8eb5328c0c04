"""Export the NTM: its time step as one graph (`step`), the learned initial state as `state0.npz`.

The service runs the loop over time (models/ntm/machine.py). The step graph is verified against eager
PyTorch like every graph here, and the whole loop through ONNX Runtime against the eager NTM at two
sequence lengths, so an export that drifts over many steps fails here, not in a request.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from export.common import GraphSpec, checkpoint_meta, export_graphs
from models.ntm.machine import STATE, StepRunner, run_copy
from models.ntm.training.checkpoint import load_checkpoint
from models.ntm.training.data import copy_batch
from models.ntm.training.model import NTM

ROOT = Path(__file__).resolve().parents[2]
CARD = ROOT / "models" / "ntm" / "card.json"
LOOP_ATOL = 1e-3  # output probabilities after 2L + 1 steps of float32 state through another runtime


def graph_spec(model: NTM) -> GraphSpec:
    cfg = model.cfg

    def step_inputs(batch: int, _: int) -> tuple[torch.Tensor, ...]:
        g = torch.Generator().manual_seed(batch)
        x = torch.randint(0, 2, (batch, cfg.bits + 1), generator=g).float()
        read, h, c = (torch.randn(batch, n, generator=g) * 0.5 for n in (cfg.mem_cols, cfg.controller, cfg.controller))
        memory = torch.randn(batch, cfg.mem_rows, cfg.mem_cols, generator=g) * 0.1
        w_read, w_write = (torch.softmax(torch.randn(batch, cfg.mem_rows, generator=g) * 3, -1) for _ in range(2))
        return x, read, h, c, memory, w_read, w_write

    inputs = ["x", *STATE]
    outputs = ["logits", *(f"{n}_out" for n in STATE)]
    axes = {n: {0: "batch"} for n in inputs + outputs}
    return GraphSpec("step", model.step, inputs, outputs, axes, step_inputs)


def save_initial_state(model: NTM, out_dir: Path) -> None:
    with torch.no_grad():
        read, h, c, memory, w_read, w_write = (t[0].numpy() for t in model.initial_state(1))
    np.savez(out_dir / "state0.npz", read=read, h=h, c=c, memory=memory, w_read=w_read, w_write=w_write)


def verify_loop(model: NTM, out_dir: Path, lengths: tuple[int, ...] = (10, 40)) -> float:
    """Max |probability difference| of the whole copy through ONNX Runtime vs the eager NTM."""
    sess = ort.InferenceSession(str(out_dir / "step.onnx"), providers=["CPUExecutionProvider"])
    runner = StepRunner(lambda feeds: sess.run(None, feeds), dict(np.load(out_dir / "state0.npz")))
    worst = 0.0
    for n in lengths:
        inputs, _ = copy_batch(np.random.default_rng(n), 3, n, model.cfg.bits)
        with torch.no_grad():
            logits, _, _ = model(torch.from_numpy(inputs))
        want = torch.sigmoid(logits[:, n + 1 :]).numpy()
        got = run_copy(runner, [inputs[b, :n, : model.cfg.bits] for b in range(3)])
        diff = max(float(np.abs(g.probs - w).max()) for g, w in zip(got, want, strict=True))
        if diff > LOOP_ATOL:
            raise AssertionError(f"ntm loop via onnxruntime at L={n}: max |diff| {diff:.2e} > {LOOP_ATOL}")
        worst = max(worst, diff)
    print(f"  loop: verified at L={', '.join(map(str, lengths))}, max |diff| {worst:.1e}")
    return worst


def export(out_dir: Path, checkpoint: Path) -> dict[str, Any]:
    model = load_checkpoint(checkpoint)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_initial_state(model, out_dir)
    meta = checkpoint_meta("ntm", checkpoint, "step", model.cfg.to_dict(), CARD)
    meta = export_graphs([graph_spec(model)], out_dir, meta, example=(2, 0), check=(5, 0))
    meta["loop_max_abs_diff"] = verify_loop(model, out_dir)
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2))
    return meta
