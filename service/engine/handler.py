"""The per-model contract every task implements, after LitServe's decode -> predict -> encode.

A handler is generic over four types: the task's request (`Req`, what a REST route or the v2 codec
builds), the item the batcher queues (`Item`, one per text, clip or image), the model's output for one
item (`Out`), and the response (`Resp`). `service/engine/driver.py` runs every request through it:

- `decode(request)` -> items: checks and conversion, raising InvalidInput / PayloadTooLarge with a message
  the caller can act on; on the event loop, or in a thread when `offload` is set (audio, images);
- `predict(items)` in the batcher's worker thread: one output per item, in order;
- `encode(request, items, outputs)` -> the response (in a thread too when `offload` is set);
- `v2_request(tensors)` / `v2_response(response)`: the Open Inference Protocol's tensors for the same
  request and response, as declared in `v2_inputs` / `v2_outputs`;
- `example()`: the warm-up item, run once before the model reports ready.

Decoders also offer step-level batching: `start_decodings(items)` and `step_batch()`, what the step
scheduler (service/engine/scheduler.py, its `Steppable` protocol) drives; `BeamSearchHandler` gives them to
the three beam-search decoders.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

import numpy as np
from pydantic import BaseModel, Field

from models.beam import Decoding, Encoded, Hypothesis, SearchQuery, StepBatch, start_decodings
from models.ensemble import EnsembleGraphs
from service.engine.runtimes import EncoderDecoderGraphs, EnsembleRuntime, Runtime, read_meta
from service.errors import InvalidInput
from service.v2 import Tensor

Req = TypeVar("Req")
Item = TypeVar("Item")
Out = TypeVar("Out")
Resp = TypeVar("Resp")


class ModelSettings(BaseModel):
    """Serving settings every model has; a task's own settings class adds its limits and defaults."""

    enabled: bool = True  # load and serve this model
    runtime: Literal["onnx", "torchscript"] = "onnx"  # graph runtime: ONNX Runtime or TorchScript
    # fp32, or int8: ONNX Runtime's dynamically quantized graphs (runtime=onnx); quality change in each model card
    precision: Literal["fp32", "int8"] = "fp32"
    # request: batch whole requests (dynamic batcher); step: batch decoder steps, admitting and retiring
    # requests between steps (the decoders: translate, speech, caption models, hull)
    batching: Literal["request", "step"] = "request"
    # thread: predict runs in a thread of the server process; process: in a worker process of its own, so
    # the search does not take turns with HTTP handling for the GIL (request batching only)
    worker: Literal["thread", "process"] = "thread"
    max_batch_size: int = Field(32, ge=1, le=1024)  # flush a batch at this many requests (1 = no batching)
    max_wait_ms: float = Field(5.0, ge=0, le=1000)  # ...or when the oldest request has waited this long
    max_queue: int = Field(256, ge=1, le=100_000)  # queued items (texts, clips, images) beyond this get 503 + Retry-After
    # batching=step: hypothesis rows per decoder step; each active item reserves its beam's rows
    max_step_rows: int = Field(256, ge=1, le=65_536)
    # batching=step: the part of max_step_rows one request's items may hold (one item always fits), so a
    # request of many texts with a large beam cannot shut the others out
    max_request_share: float = Field(0.5, gt=0, le=1)
    # Decoder rows x steps one request may need at most (texts x beam_size x max_length; hull: beam_size x
    # points); more gets 422 at once, before any work. None: no limit.
    max_request_work: int | None = Field(50_000, ge=1)
    # Request bodies beyond this get 413, on the task's endpoint and on /v2/models/<model>/infer alike;
    # None: the server's SEQ2SERVE_MAX_BODY_BYTES. Models that take files (audio, images) set their own.
    max_body_bytes: int | None = Field(None, ge=1024)
    # An ensemble export (several trained models averaged per step): serve only its first n members, trading
    # quality for speed (/translate: one member, ~2.5x the throughput for 0.9 val BLEU, BENCHMARKS.md); None: all.
    members: int | None = Field(None, ge=1, le=16)


def check_beam(beam_size: int, n_best: int, max_beam_size: int) -> None:
    """The search options every beam-search endpoint takes: 422 with what to change."""
    if beam_size > max_beam_size:
        raise InvalidInput(f"beam_size: {beam_size} is more than this server's limit of {max_beam_size}")
    if n_best > beam_size:
        raise InvalidInput(f"n_best: {n_best} is more than beam_size ({beam_size}); raise beam_size")


class Handler(ABC, Generic[Req, Item, Out, Resp]):
    graphs: ClassVar[tuple[str, ...]]  # the exported graphs it runs: <graph>.onnx / <graph>.ts
    offload: ClassVar[bool] = False  # decode and encode are CPU work (audio, images): run them off the event loop
    v2_inputs: ClassVar[tuple[Tensor, ...]]
    v2_outputs: ClassVar[tuple[Tensor, ...]]

    def __init__(self, name: str, model_dir: Path, settings: ModelSettings) -> None:
        self.name = name
        self.model_dir = model_dir
        self.settings = settings
        self.meta: dict[str, Any] = {}
        self.runtime: Runtime | None = None
        self._ensemble: EnsembleGraphs | EncoderDecoderGraphs | None = None
        self._member_metas: list[dict[str, Any]] = []

    def load(self, runtime: Runtime) -> None:
        self.meta = read_meta(self.model_dir)
        self.runtime = runtime
        self._ensemble = None
        self._member_metas = []
        if isinstance(runtime, EnsembleRuntime):  # one object for every batch: step batching steps sequences
            self._member_metas = [read_meta(d) for d in runtime.dirs]  # that other batches encoded
            graphs = [EncoderDecoderGraphs(rt, m) for rt, m in zip(runtime.members, self._member_metas, strict=True)]
            # one member served (settings.members=1): its graphs alone, without the averaging's cost
            self._ensemble = graphs[0] if len(graphs) == 1 else EnsembleGraphs(graphs)

    def graph_runner(self) -> EncoderDecoderGraphs | EnsembleGraphs:
        """`encode` / `step` over this model's runtime: what its search calls. An ensemble's members run side
        by side and their output distributions are averaged (models/ensemble.py)."""
        if self.runtime is None:
            raise RuntimeError(f"model {self.name!r} is not loaded")
        if self._ensemble is not None:
            return self._ensemble
        return EncoderDecoderGraphs(self.runtime, self.meta)

    @property
    def version(self) -> str:
        if self._member_metas:  # the members served, which settings.members may cut short
            return "+".join(str(m.get("version", "unknown")) for m in self._member_metas)
        return str(self.meta.get("version", "unknown"))

    @property
    def card(self) -> dict[str, Any]:
        return dict(self.meta.get("card", {}))

    @property
    def members(self) -> int:
        """How many trained models the served graphs average: an ensemble export's members as loaded (all of
        them, or the first settings.members), or what an in-graph ensemble's export records in its config (/qa)."""
        if self._member_metas:
            return len(self._member_metas)
        config = self.meta.get("config")
        return int(config.get("members", 1)) if isinstance(config, dict) else 1

    @abstractmethod
    def decode(self, request: Req) -> list[Item]: ...

    @abstractmethod
    def predict(self, items: list[Item]) -> list[Out]: ...

    @abstractmethod
    def encode(self, request: Req, items: list[Item], outputs: list[Out]) -> Resp: ...

    @abstractmethod
    def example(self) -> Item: ...

    def rows(self, item: Item) -> int:
        """Hypothesis rows the item decodes at once (its beam): what a step budget reserves for it."""
        return 1

    def work(self, item: Item) -> int:
        """Decoder rows x steps the item may take at most: what `max_request_work` limits."""
        return 1

    @abstractmethod
    def v2_request(self, tensors: dict[str, np.ndarray]) -> Req:
        """The task's request from the v2 input tensors (each as declared in `v2_inputs`)."""

    @abstractmethod
    def v2_response(self, response: Resp) -> dict[str, np.ndarray]:
        """The v2 output tensors (as declared in `v2_outputs`) of a response."""


class Search(Protocol):
    beam_size: int
    max_length: int  # output tokens, </s> excluded


class Searched(Protocol):
    @property
    def query(self) -> Search: ...


SearchedItem = TypeVar("SearchedItem", bound=Searched)


class BeamSearchHandler(Handler[Req, SearchedItem, list[Hypothesis], Resp]):
    """The attention decoders (translate, speech, captions): one shared beam search, step-level batching
    through models.beam. Subclasses say how their items become encoder outputs and queries."""

    def rows(self, item: SearchedItem) -> int:
        return item.query.beam_size

    def work(self, item: SearchedItem) -> int:
        return item.query.beam_size * (item.query.max_length + 1)  # + 1: the step that writes </s>

    @property
    @abstractmethod
    def vocab_size(self) -> int: ...

    @abstractmethod
    def encoded(self, items: list[SearchedItem]) -> tuple[Encoded, list[SearchQuery]]:
        """Run the encoder over a batch of items: its outputs and one search query per item."""

    def predict(self, items: list[SearchedItem]) -> list[list[Hypothesis]]:
        """Request-level batching: the batch's searches run to the end together (models.beam.beam_search)."""
        decodings = self.start_decodings(items)
        self.step_batch().run(decodings)
        return [d.result() for d in decodings]

    def start_decodings(self, items: list[SearchedItem]) -> list[Decoding]:
        return start_decodings(*self.encoded(items))

    def step_batch(self) -> StepBatch:
        return StepBatch(self.graph_runner(), self.vocab_size)
