"""The per-model contract, after LitServe's: setup -> validate -> predict(batch) -> respond.

- `load(runtime)` keeps the runtime and reads the model's meta.json;
- `validate(request)` runs on the event loop: cheap checks and conversion to an item, raising
  InvalidInput with a message the caller can act on;
- `predict(items)` runs in the batcher's worker thread: one output per item, in order;
- `respond(item, output)` builds the response model;
- `example()` is the warm-up item, run once before the model reports ready.

The decoders (translate, speech, caption, hull) also offer step-level batching: `start_decodings(items)`
encodes a batch and returns one decoding per item, which the step scheduler (service/engine/scheduler.py)
adds to the running `step_batch()`: that advances every active decoding together, one decoder step at a
time. A decoding's `result()` is exactly what `predict` returns for that item.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from models.beam import StepBatch
from service.engine.runtimes import EncoderDecoderGraphs, Runtime, read_meta
from service.errors import InvalidInput

Item = TypeVar("Item")
Output = TypeVar("Output")


def check_beam(beam_size: int, n_best: int, max_beam_size: int) -> None:
    """The search options every beam-search endpoint takes: 422 with what to change."""
    if beam_size > max_beam_size:
        raise InvalidInput(f"beam_size: {beam_size} is more than this server's limit of {max_beam_size}")
    if n_best > beam_size:
        raise InvalidInput(f"n_best: {n_best} is more than beam_size ({beam_size}); raise beam_size")


class Handler(ABC, Generic[Item, Output]):
    name: ClassVar[str]
    endpoint: ClassVar[str]
    graphs: ClassVar[list[str]]

    def __init__(self, model_dir: Path, settings: Any) -> None:
        self.model_dir = model_dir
        self.settings = settings
        self.meta: dict[str, Any] = {}
        self.runtime: Runtime | None = None

    def load(self, runtime: Runtime) -> None:
        self.meta = read_meta(self.model_dir)
        self.runtime = runtime

    def graph_runner(self) -> EncoderDecoderGraphs:
        """`encode` / `step` over this model's runtime: what its search calls."""
        if self.runtime is None:
            raise RuntimeError(f"model {self.name!r} is not loaded")
        return EncoderDecoderGraphs(self.runtime, self.meta)

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unknown"))

    @property
    def card(self) -> dict[str, Any]:
        return dict(self.meta.get("card", {}))

    supports_step: ClassVar[bool] = False  # implements start_decodings, and vocab_size or step_batch

    def start_decodings(self, items: list[Item]) -> list[Any]:
        raise NotImplementedError(f"model {self.name!r} has no step-level batching; use batching=request")

    def step_batch(self) -> Any:
        """An empty batch the scheduler adds decodings to (models.beam.StepBatch for the beam-search models)."""
        return StepBatch(self.graph_runner(), self.vocab_size)

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    @abstractmethod
    def example(self) -> Item: ...

    @abstractmethod
    def predict(self, items: list[Item]) -> list[Output]: ...
