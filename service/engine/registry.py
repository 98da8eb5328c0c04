"""The registry: builds, loads, warms up and batches every enabled model; reports their status.

The models are those of the task registry (service/tasks.py). A model that fails to load is marked
failed with its reason and the others keep serving.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from service.engine.batcher import Batcher, BatchSettings
from service.engine.handler import Handler, ModelSettings
from service.engine.runtimes import RuntimeOptions, make_runtime
from service.engine.scheduler import Steppable, StepScheduler
from service.engine.worker import ProcessPredictor
from service.errors import ModelNotFound, Unavailable
from service.metrics import Metrics
from service.tasks import MODELS, TASK_OF

if TYPE_CHECKING:
    from service.settings import ServerSettings

log = logging.getLogger("seq2serve")

Req = TypeVar("Req")
Item = TypeVar("Item")
Out = TypeVar("Out")
Resp = TypeVar("Resp")


@dataclass
class ServedModel(Generic[Req, Item, Out, Resp]):
    name: str
    handler: Handler[Req, Item, Out, Resp]
    settings: ModelSettings
    endpoint: str  # its task's REST endpoint
    status: str = "loading"  # loading | ready | failed: <reason>
    batcher: Batcher[Item, Out] | StepScheduler[Item, Out] | None = None  # per settings.batching
    worker: ProcessPredictor[Item, Out] | None = None  # settings.worker == "process": where predict runs

    def ready_handler(self) -> Handler[Req, Item, Out, Resp]:
        """The handler, once loaded; before that (or after a failed load) 503 with the reason."""
        if self.batcher is None or self.status != "ready":
            raise Unavailable(f"model {self.name!r} is not ready ({self.status})", retry_after_s=5)
        return self.handler

    async def submit(self, item: Item, timeout_s: float, group: object = None, rows: int = 1) -> Out:
        self.ready_handler()
        assert self.batcher is not None
        return await self.batcher.submit(item, timeout_s, group, rows)


def runtime_options(s: ServerSettings) -> RuntimeOptions:
    return RuntimeOptions(s.device, s.ort_intra_op_threads, s.ort_inter_op_threads, s.ort_allow_spinning, s.torch_threads)


def loaded_handler(
    name: str,
    model_dir: Path,
    settings: ModelSettings | None = None,
    runtime: str = "onnx",
    options: RuntimeOptions | None = None,
    precision: str | None = None,
) -> Handler[Any, Any, Any, Any]:
    """Served model `name`'s handler over its exported graphs in `model_dir`, loaded, outside any server:
    what evaluation and the offline benchmarks run requests through."""
    spec = MODELS[name]
    handler = spec.handler(name, model_dir, settings or spec.settings())
    options = options or RuntimeOptions(device="cpu")
    members = options.members if options.members is not None else handler.settings.members
    options = replace(options, precision=precision or options.precision, members=members)
    handler.load(make_runtime(runtime, model_dir, handler.graphs, options))
    return handler


class Registry:
    def __init__(self, settings: ServerSettings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.models: dict[str, ServedModel[Any, Any, Any, Any]] = {}
        for name, spec in MODELS.items():
            ms = settings.model(name)
            if ms.enabled:
                handler = spec.handler(name, settings.artifacts_dir / name, ms)
                self.models[name] = ServedModel(name, handler, ms, TASK_OF[name].path)

    async def start(self) -> None:
        """Load and warm up every model (one at a time, off the event loop), then start its batcher."""
        for served in self.models.values():
            try:
                await asyncio.to_thread(self._load, served)
            except Exception as exc:
                log.exception("model %s failed to load", served.name)
                served.status = f"failed: {type(exc).__name__}: {exc}"
                continue
            settings = _batch_settings(served.settings)
            handler = served.handler
            if served.settings.batching == "step" and isinstance(handler, Steppable):
                served.batcher = StepScheduler(served.name, handler, settings, self.metrics)
            else:
                predict = served.worker or handler.predict
                served.batcher = Batcher(served.name, predict, settings, self.metrics)
            served.batcher.start()
            served.status = "ready"
            log.info("model %s ready (%s on %s)", served.name, served.settings.runtime, _device(handler))

    def _load(self, served: ServedModel[Any, Any, Any, Any]) -> None:
        options = replace(runtime_options(self.settings), precision=served.settings.precision, members=served.settings.members)
        handler = served.handler
        if served.settings.batching == "step" and not isinstance(handler, Steppable):
            raise ValueError(f"batching=step: model {served.name!r} has no step-level batching (use request)")
        if served.settings.batching == "step" and served.settings.worker == "process":
            raise ValueError(f"model {served.name!r}: worker=process works with batching=request only")
        handler.load(make_runtime(served.settings.runtime, handler.model_dir, handler.graphs, options))
        predict = handler.predict
        if served.settings.worker == "process":
            served.worker = predict = ProcessPredictor(handler, served.settings.runtime, options)
        outputs = predict([handler.example()])  # warm-up: first run allocates and plans (in the worker too)
        if len(outputs) != 1:
            raise RuntimeError("warm-up returned the wrong number of outputs")

    async def stop(self, drain_timeout_s: float) -> None:
        await asyncio.gather(*(m.batcher.stop(drain_timeout_s) for m in self.models.values() if m.batcher))
        for m in self.models.values():
            if m.worker is not None:
                await asyncio.to_thread(m.worker.close)

    @property
    def ready(self) -> bool:
        return bool(self.models) and all(m.status == "ready" for m in self.models.values())

    def get(self, name: str) -> ServedModel[Any, Any, Any, Any]:
        if name not in self.models:
            raise ModelNotFound(f"model {name!r} is not served here; GET /v1/models lists the served models")
        return self.models[name]


def _device(handler: Handler[Any, Any, Any, Any]) -> str:
    return handler.runtime.device if handler.runtime else "-"


def _batch_settings(ms: ModelSettings) -> BatchSettings:
    return BatchSettings(ms.max_batch_size, ms.max_wait_ms, ms.max_queue, ms.max_step_rows, ms.max_request_share)
