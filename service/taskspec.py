"""What a task declares, once, for everything that serves, exports, trains or evaluates it.

A task (translate, speech, ...) is one package under models/ whose `task.py` builds a `TaskSpec`;
service/tasks.py lists them. From that list the app mounts routes and body limits, the model registry
loads and batches models, metrics get their labels, /v2 serves its models, `python -m export` exports,
`python -m evaluation` writes the model cards, and `python -m models.training <task>` trains.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from service.engine.handler import Handler, ModelSettings

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ModelSpec:
    """One served model. Its name is its settings field (SEQ2SERVE_<NAME>__...), its /v2 model name, its
    metrics label and its folder under the artifacts directory."""

    name: str
    handler: type[Handler[Any, Any, Any, Any]]
    settings: type[ModelSettings]
    checkpoints: tuple[Path, ...]  # repo-relative; what the exporter reads, in its argument order, and training writes
    export: str  # "module:function", called as function(out_dir, *checkpoints); torch, so imported only by export

    @property
    def checkpoint_paths(self) -> tuple[Path, ...]:
        return tuple(ROOT / c for c in self.checkpoints)


@dataclass(frozen=True)
class TrainStep:
    """One command of a task's training recipe: `python -m <module> <args>`."""

    module: str
    args: tuple[str, ...] = ()
    skip_if_exists: str | None = None  # a file this step makes once (a prepared corpus): skip it when present


@dataclass(frozen=True)
class TaskSpec:
    name: str
    path: str  # the REST endpoint
    router: APIRouter  # the task's REST route(s); each calls service.engine.driver.drive
    models: tuple[ModelSpec, ...]
    card: Path  # repo-relative: the metrics `python -m evaluation` writes and /v1/models shows
    evaluate: str  # module run by `python -m evaluation` (`make eval`)
    train: tuple[TrainStep, ...]  # `python -m models.training <task>` (`make train-<task>`), in order

    @property
    def metrics_label(self) -> str:
        """The `model` label of the REST endpoint's request metrics: the model, or the task when several
        models share the endpoint (the model is only known once the body is read)."""
        return self.models[0].name if len(self.models) == 1 else self.name
