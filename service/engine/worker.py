"""A model's `predict` in its own process (`SEQ2SERVE_<MODEL>__WORKER=process`).

Why: the searches (beam search in numpy, tree recursion) hold the GIL between runtime calls. In the
server's process they take turns with the event loop (HTTP, JSON, validation), so two cores do less than
twice the work. A worker process has its own GIL, and HTTP runs beside the model, as with Triton's C++
front end and its Python backend processes. The price: items and outputs cross a pipe (pickled; only
the service's own objects, never a file), the model is loaded twice, and request batching only.

The batcher's thread calls `ProcessPredictor(items)` and waits for the worker without holding the GIL.
A worker that dies (killed, out of memory) fails its batch with the usual 500 and is replaced for the
next one.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Generic, TypeVar

from service.engine.handler import Handler, ModelSettings
from service.engine.runtimes import RuntimeOptions, make_runtime

log = logging.getLogger("seq2serve")

I = TypeVar("I")  # noqa: E741 - item type
O = TypeVar("O")  # noqa: E741 - output type

_handler: Handler[Any, Any, Any, Any] | None = None  # the worker process's own handler, loaded once by _init


def _init(cls: type[Handler[Any, Any, Any, Any]], name: str, model_dir: Path, settings: ModelSettings, runtime: str,
          options: RuntimeOptions) -> None:  # fmt: skip
    # Ctrl-C reaches the whole process group: the server drains first, then shuts this worker down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True, name="parent-watch").start()
    global _handler
    handler = cls(name, model_dir, settings)
    handler.load(make_runtime(runtime, model_dir, cls.graphs, options))
    _handler = handler


def _exit_with_parent(parent: int) -> None:
    """A server killed outright (SIGKILL, OOM) cannot shut its worker down: the worker notices and exits
    instead of lingering with a model in memory."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _predict(items: list[Any]) -> list[Any]:
    assert _handler is not None, "the worker's initializer did not run"
    return _handler.predict(items)


class ProcessPredictor(Generic[I, O]):
    """Callable like `handler.predict`, computed in one worker process (spawned, so no forked threads)."""

    def __init__(self, handler: Handler[Any, I, O, Any], runtime: str, options: RuntimeOptions) -> None:
        self.name = handler.name
        self._args = (type(handler), handler.name, handler.model_dir, handler.settings, runtime, options)
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        ctx = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(1, mp_context=ctx, initializer=_init, initargs=self._args)

    def __call__(self, items: list[I]) -> list[O]:
        try:
            return self._pool.submit(_predict, items).result()
        except BrokenProcessPool:
            log.error("model %s: its worker process died; starting a new one", self.name)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            raise

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
