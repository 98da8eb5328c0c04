"""The NTM copy-task model, data and resumable training loop, on tiny seeded configurations (seconds in all)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.ntm.training import train
from models.ntm.training.data import Curriculum, copy_batch
from models.ntm.training.model import NTM, NTMConfig

TINY = NTMConfig(bits=4, controller=16, mem_rows=12, mem_cols=6)


@pytest.fixture
def model() -> NTM:
    torch.manual_seed(0)
    return NTM(TINY)


def test_step_returns_the_state_shapes_it_takes(model: NTM) -> None:
    x = torch.rand(3, TINY.bits + 1)
    state = model.initial_state(3)
    out = model.step(x, *state)
    assert out[0].shape == (3, TINY.bits)
    assert [t.shape for t in out[1:]] == [t.shape for t in state]
    assert out[4].shape == (3, TINY.mem_rows, TINY.mem_cols)


def test_weights_are_distributions_over_memory_rows(model: NTM) -> None:
    inputs = torch.from_numpy(copy_batch(np.random.default_rng(0), 3, 5, TINY.bits)[0])
    logits, w_read, w_write = model(inputs)
    assert logits.shape == (3, 11, TINY.bits)
    for w in (w_read, w_write):
        assert w.shape == (3, 11, TINY.mem_rows)
        assert (w >= 0).all()
        torch.testing.assert_close(w.sum(-1), torch.ones(3, 11))


def test_gradients_are_finite_from_the_constant_memory(model: NTM) -> None:
    inputs = torch.from_numpy(copy_batch(np.random.default_rng(1), 2, 4, TINY.bits)[0])
    model(inputs)[0].sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_copy_batch_layout() -> None:
    inputs, targets = copy_batch(np.random.default_rng([1, 5]), 2, 3, 4)
    assert inputs.shape == (2, 7, 5) and targets.shape == (2, 3, 4)
    assert inputs.dtype == targets.dtype == np.float32
    np.testing.assert_array_equal(inputs[:, :3, :4], targets)
    np.testing.assert_array_equal(inputs[:, :, 4], [[0, 0, 0, 1, 0, 0, 0]] * 2)  # delimiter flag only at step L
    assert not inputs[:, 3, :4].any() and not inputs[:, 4:].any()  # blank while the answer is due
    again = copy_batch(np.random.default_rng([1, 5]), 2, 3, 4)
    np.testing.assert_array_equal(inputs, again[0])
    np.testing.assert_array_equal(targets, again[1])


def test_curriculum_grows_only_at_its_max_length() -> None:
    c = Curriculum(max_len=3, final_len=4, threshold=0.5)
    assert not c.update(2, 0.0)
    assert c.update(3, 0.0) and c.max_len == 4
    assert not c.update(4, 0.0) and c.max_len == 4  # final length reached
    assert Curriculum.from_dict(c.to_dict()) == c


def tiny_args(tmp: Path, run: str, steps: int) -> list[str]:
    return [
        "--steps", str(steps), "--save-every", "2", "--eval-every", "2", "--batch-size", "3", "--max-len", "3",
        "--bits", "4", "--controller", "16", "--mem-rows", "12", "--mem-cols", "6", "--eval-lengths", "3", "6",
        "--eval-size", "4", "--run-dir", str(tmp / run), "--out", str(tmp / f"{run}.safetensors"),
    ]  # fmt: skip


def test_resumed_training_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    train.main(tiny_args(tmp_path, "straight", 4))
    train.main(tiny_args(tmp_path, "resumed", 2))
    train.main(tiny_args(tmp_path, "resumed", 4))
    straight = torch.load(tmp_path / "straight" / "state.pt", weights_only=True)
    resumed = torch.load(tmp_path / "resumed" / "state.pt", weights_only=True)
    assert straight["state"] == resumed["state"]
    for name, value in straight["model"].items():
        torch.testing.assert_close(resumed["model"][name], value, rtol=0, atol=0)
    assert (tmp_path / "straight.safetensors").exists()
