"""Settings from the environment (prefix SEQ2SERVE_, nested with __), e.g.

    SEQ2SERVE_PORT=8080 SEQ2SERVE_HULL__MAX_BATCH_SIZE=64 SEQ2SERVE_HULL__RUNTIME=torchscript

Every field is documented in the README's configuration table. Nothing is read at import time:
`get_settings()` builds them once, and tests pass their own `Settings` to `create_app`.
The per-model fields come from the task registry (service/tasks.py): one field per served model, named
after it, of the model's settings class (a subclass of service.engine.handler.ModelSettings).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, create_model
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.engine.handler import ModelSettings
from service.tasks import MODELS


class ServerSettings(BaseSettings):
    """What the whole server shares; `Settings` adds one field per served model."""

    model_config = SettingsConfigDict(env_prefix="SEQ2SERVE_", env_nested_delimiter="__", extra="ignore")

    host: str = "127.0.0.1"  # bind address for `make serve` / `python -m service`
    port: int = 8000
    log_level: str = "info"
    # uvicorn's HTTP parser and event loop; auto = httptools and uvloop (installed with the service).
    http: Literal["auto", "h11", "httptools"] = "auto"
    loop: Literal["auto", "asyncio", "uvloop"] = "auto"
    artifacts_dir: Path = Path("build/models")  # exported graphs, one folder per model
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto = CUDA when the runtime sees a GPU
    ort_intra_op_threads: int = Field(0, ge=0)  # ONNX Runtime threads inside one op (0 = ORT's default)
    ort_inter_op_threads: int = Field(1, ge=0)  # ONNX Runtime threads across ops (0 = ORT's default)
    ort_allow_spinning: bool = False  # let idle ORT threads busy-wait (faster per op, but steals CPU from HTTP)
    torch_threads: int = Field(0, ge=0)  # TorchScript intra-op threads (0 = torch's default)
    request_timeout_s: float = Field(10.0, gt=0)  # a request still queued after this gets 504
    max_body_bytes: int = Field(1_000_000, ge=1024)  # larger request bodies get 413
    drain_timeout_s: float = Field(30.0, ge=0)  # on shutdown, wait this long for queued work
    # Model requests handled at once (queued, computing, answering) once their body has arrived; more get
    # 503 + Retry-After before any work. Sheds load when HTTP itself is the bottleneck; probes are exempt.
    max_in_flight: int = Field(1024, ge=1)
    # A request's headers and body must arrive within this many seconds, else 408 and the connection is
    # closed; requests still arriving hold no in-flight slot (so stalled uploads cannot take them all).
    read_timeout_s: float = Field(30.0, gt=0)
    # Optional API key: when set, every request but health checks and /metrics needs it, as
    # `Authorization: Bearer <key>` or `X-API-Key: <key>`; otherwise 401. Off (None) by default.
    api_key: SecretStr | None = None
    cors_origins: list[str] = []  # browser origins allowed to call the API (CORS); none by default

    def model(self, name: str) -> ModelSettings:
        """The settings of the served model `name` (a field of `Settings`)."""
        settings = getattr(self, name)
        assert isinstance(settings, ModelSettings)
        return settings


_per_model: dict[str, Any] = {name: (spec.settings, spec.settings()) for name, spec in MODELS.items()}
Settings = create_model("Settings", __base__=ServerSettings, __doc__="Server settings, and one field per served model.",
                        **_per_model)  # fmt: skip


@lru_cache
def get_settings() -> ServerSettings:
    return Settings()
