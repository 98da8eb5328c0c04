"""NTM handler: bit vectors -> the step graph looped over time (machine.py) -> the copy and the heads' weights."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.ntm.machine import CopyResult, StepRunner, run_copy
from models.ntm.schemas import BITS, NTMRequest, NTMResponse
from models.ntm.settings import NTMSettings
from service.engine.handler import Handler
from service.engine.runtimes import Runtime
from service.errors import InvalidInput
from service.v2 import Tensor, V2Error


@dataclass(frozen=True)
class NTMItem:
    bits: np.ndarray  # (L, 8) float32 0/1


class NTMHandler(Handler[NTMRequest, NTMItem, CopyResult, NTMResponse]):
    graphs = ("step",)
    v2_inputs = (Tensor("INPUT", "INT64", (-1, BITS)),)  # L vectors of 0/1
    v2_outputs = (Tensor("BITS", "INT64", (-1, BITS)), Tensor("PROBS", "FP32", (-1, BITS)))
    settings: NTMSettings

    def load(self, runtime: Runtime) -> None:
        super().load(runtime)
        with np.load(self.model_dir / "state0.npz", allow_pickle=False) as z:
            state0 = {k: z[k] for k in z.files}
        self.memory_rows = int(state0["memory"].shape[0])
        self.runner = StepRunner(lambda feeds: runtime.run("step", feeds), state0)

    def decode(self, req: NTMRequest) -> list[NTMItem]:
        if len(req.input) > self.settings.max_length:
            raise InvalidInput(
                f"input: {len(req.input)} vectors is more than this server's limit of {self.settings.max_length} "
                f"(the memory has {self.memory_rows} rows)"
            )
        return [NTMItem(np.asarray(req.input, dtype=np.float32))]

    def example(self) -> NTMItem:
        return NTMItem(np.random.default_rng(0).integers(0, 2, size=(5, BITS)).astype(np.float32))

    def work(self, item: NTMItem) -> int:
        return 2 * len(item.bits) + 1  # steps: read, delimiter, write back

    def predict(self, items: list[NTMItem]) -> list[CopyResult]:
        return run_copy(self.runner, [it.bits for it in items])

    def encode(self, req: NTMRequest, items: list[NTMItem], outputs: list[CopyResult]) -> NTMResponse:
        (item,), (result,) = items, outputs
        bits = (result.probs > 0.5).astype(np.int64)

        def rounded(a: np.ndarray, places: int) -> list[list[float]]:
            return a.astype(np.float64).round(places).tolist()

        return NTMResponse(
            task=req.task,
            length=len(item.bits),
            output=rounded(result.probs, 5),
            bits=bits.tolist(),
            errors=int((bits != item.bits).sum()),
            memory_rows=self.memory_rows,
            write_weights=rounded(result.write_weights, 4) if req.return_weights else None,
            read_weights=rounded(result.read_weights, 4) if req.return_weights else None,
            model=self.name,
            version=self.version,
        )

    def v2_request(self, tensors: dict[str, np.ndarray]) -> NTMRequest:
        x = tensors["INPUT"]
        if x.ndim != 2 or x.shape[1] != BITS:
            raise V2Error(f"input INPUT: shape must be [L, {BITS}] (got {list(x.shape)})")
        return NTMRequest(input=x.tolist(), return_weights=False)

    def v2_response(self, response: NTMResponse) -> dict[str, np.ndarray]:
        return {"BITS": np.asarray(response.bits, dtype=np.int64), "PROBS": np.asarray(response.output, dtype=np.float32)}
