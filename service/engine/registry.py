"""The registry: builds, loads, warms up and batches every enabled model; reports their status.

A model that fails to load is marked failed with its reason and the others keep serving.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from service.engine.batcher import Batcher, BatchSettings
from service.engine.runtimes import RuntimeOptions, make_runtime
from service.engine.scheduler import StepScheduler
from service.engine.worker import ProcessPredictor
from service.errors import ModelNotFound, Unavailable
from service.handlers.base import Handler
from service.handlers.caption import GroundedCaptionHandler, PhotoCaptionHandler
from service.handlers.hull import HullHandler
from service.handlers.sentiment import SentimentHandler
from service.handlers.speech import SpeechHandler
from service.handlers.translate import TranslateHandler
from service.metrics import Metrics
from service.settings import ModelSettings, Settings

log = logging.getLogger("seq2serve")

HANDLERS: dict[str, type[Handler[Any, Any]]] = {
    "hull": HullHandler,
    "translate": TranslateHandler,
    "speech": SpeechHandler,
    "caption_photo": PhotoCaptionHandler,
    "caption_grounded": GroundedCaptionHandler,
    "sentiment": SentimentHandler,
}


@dataclass
class ServedModel:
    name: str
    handler: Any  # a Handler subclass; Any so routes can call its task-specific methods
    settings: ModelSettings
    status: str = "loading"  # loading | ready | failed: <reason>
    batcher: Batcher[Any, Any] | StepScheduler | None = None  # per settings.batching
    worker: ProcessPredictor | None = None  # settings.worker == "process": where predict runs

    def ready_handler(self) -> Any:
        """The handler, once loaded; before that (or after a failed load) 503 with the reason."""
        if self.batcher is None or self.status != "ready":
            raise Unavailable(f"model {self.name!r} is not ready ({self.status})", retry_after_s=5)
        return self.handler

    async def submit(self, item: Any, timeout_s: float) -> Any:
        self.ready_handler()
        assert self.batcher is not None
        return await self.batcher.submit(item, timeout_s)


class Registry:
    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.models: dict[str, ServedModel] = {}
        for name, cls in HANDLERS.items():
            ms: ModelSettings = getattr(settings, name)
            if ms.enabled:
                self.models[name] = ServedModel(name, cls(settings.artifacts_dir / name, ms), ms)

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
            if served.settings.batching == "step":
                served.batcher = StepScheduler(served.name, served.handler, settings, self.metrics)
            else:
                predict = served.worker or served.handler.predict
                served.batcher = Batcher(served.name, predict, settings, self.metrics)
            served.batcher.start()
            served.status = "ready"
            log.info("model %s ready (%s on %s)", served.name, served.settings.runtime, served.handler.runtime.device)

    def _load(self, served: ServedModel) -> None:
        s = self.settings
        options = RuntimeOptions(s.device, s.ort_intra_op_threads, s.ort_inter_op_threads, s.ort_allow_spinning, s.torch_threads)
        handler = served.handler
        if served.settings.batching == "step" and not handler.supports_step:
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

    def get(self, name: str) -> ServedModel:
        if name not in self.models:
            raise ModelNotFound(f"model {name!r} is not served here; GET /v1/models lists the served models")
        return self.models[name]


def _batch_settings(ms: ModelSettings) -> BatchSettings:
    return BatchSettings(ms.max_batch_size, ms.max_wait_ms, ms.max_queue)
