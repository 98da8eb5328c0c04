"""The task registry (service/tasks.py) is complete and consistent: what training writes is what export
reads, every name it gives resolves, and everything that lists tasks lists them from it."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from service.app import create_app
from service.settings import Settings
from service.tasks import MODELS, TASKS
from service.taskspec import ROOT, TaskSpec
from tests.integration.conftest import make_settings


def written_checkpoints(task: TaskSpec) -> list[Path]:
    """The checkpoints the task's training recipe writes (--out), in order. Each step's arguments are parsed
    by its training module's own parser, so a wrong flag fails here; a step that starts from a checkpoint
    (--init) must start from one an earlier step wrote."""
    written: list[Path] = []
    for step in task.train:
        module = importlib.import_module(step.module)
        if not hasattr(module, "parse_args"):
            continue  # a data-preparation step
        args = module.parse_args(list(step.args))
        assert args.out is not None, f"{task.name}: `{step.module}` must be told --out, not left to its default"
        init = getattr(args, "init", None)
        assert init is None or Path(init) in written, f"{task.name}: --init {init} is no earlier step's output"
        written.append(Path(args.out))
    return written


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_training_writes_exactly_the_checkpoints_export_reads(task: TaskSpec) -> None:
    written = written_checkpoints(task)
    exported = [c for m in task.models for c in m.checkpoints]
    assert set(exported) <= set(written), f"{task.name}: training never writes {set(exported) - set(written)}"


@pytest.mark.parametrize("name", list(MODELS))
def test_each_model_resolves(name: str) -> None:
    spec = MODELS[name]
    module, function = spec.export.split(":")
    export = getattr(importlib.import_module(module), function)
    params = inspect.signature(export).parameters.values()
    fixed = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    more = any(p.kind is p.VAR_POSITIONAL for p in params)  # translate: an ensemble's extra members
    n = 1 + len(spec.checkpoints)
    assert len(fixed) == n or (more and len(fixed) <= n), f"{spec.export} takes (out_dir, *checkpoints)"
    assert all(c.exists() for c in spec.checkpoint_paths), "every served model's checkpoints are committed"
    assert isinstance(Settings().model(name), spec.settings)
    assert spec.handler.v2_inputs and spec.handler.v2_outputs


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_each_task_resolves(task: TaskSpec) -> None:
    assert (ROOT / task.card).exists()
    assert importlib.util.find_spec(task.evaluate) is not None
    paths = {route.path for route in task.router.routes}  # type: ignore[attr-defined]
    assert task.path in paths


def test_names_are_unique_and_every_task_is_mounted() -> None:
    assert len({t.name for t in TASKS}) == len(TASKS) and len({t.path for t in TASKS}) == len(TASKS)
    spec = create_app(make_settings(Path("unused"))).openapi()
    assert {t.path for t in TASKS} <= set(spec["paths"])
    v2_models = spec["paths"]["/v2/models/{name}/infer"]["post"]["parameters"][0]["schema"]["enum"]
    assert v2_models == list(MODELS)


def test_the_makefile_names_no_task() -> None:
    """Train and eval targets come from the registry: a task added there needs no Makefile line."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    makefile = "\n".join(line.split("#")[0] for line in lines)  # help texts may give an example
    for task in TASKS:
        assert not re.search(rf"\b(train|evaluation|models)[.-]{task.name}\b", makefile), task.name


def test_the_training_runner_prints_each_recipe() -> None:
    out = subprocess.run([sys.executable, "-m", "models.training", "translate", "--dry-run"], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout  # fmt: skip
    lines = out.splitlines()
    assert len(lines) == 6 and "models.translate.training.scst" in lines[-1]  # both members end with an SCST epoch
    assert lines[-1].endswith("--out checkpoints/translate-2.safetensors")
    assert "models.translate.training.scst" in lines[2] and lines[2].endswith("--out checkpoints/translate.safetensors")
