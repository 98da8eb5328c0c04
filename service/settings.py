"""Settings from the environment (prefix SEQ2SERVE_, nested with __), e.g.

    SEQ2SERVE_PORT=8080 SEQ2SERVE_HULL__MAX_BATCH_SIZE=64 SEQ2SERVE_HULL__RUNTIME=torchscript

Every field is documented in the README's configuration table. Nothing is read at import time:
`get_settings()` builds them once, and tests pass their own `Settings` to `create_app`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

RuntimeName = Literal["onnx", "torchscript"]
BatchingName = Literal["request", "step"]


class ModelSettings(BaseModel):
    """Serving settings shared by every model."""

    enabled: bool = True  # load and serve this model
    runtime: RuntimeName = "onnx"  # graph runtime: ONNX Runtime or TorchScript
    # request: batch whole requests (dynamic batcher); step: batch decoder steps, admitting and retiring
    # requests between steps (the decoders: translate, speech, caption models, hull)
    batching: BatchingName = "request"
    # thread: predict runs in a thread of the server process; process: in a worker process of its own, so
    # the search does not take turns with HTTP handling for the GIL (request batching only)
    worker: Literal["thread", "process"] = "thread"
    max_batch_size: int = Field(32, ge=1, le=1024)  # flush a batch at this many requests (1 = no batching)
    max_wait_ms: float = Field(5.0, ge=0, le=1000)  # ...or when the oldest request has waited this long
    max_queue: int = Field(256, ge=1, le=100_000)  # queued requests beyond this get 503 + Retry-After


class HullSettings(ModelSettings):
    max_points: int = Field(256, ge=3, le=10_000)  # requests with more points get 422
    max_beam_size: int = Field(16, ge=1, le=128)  # largest beam_size a request may ask for


class TranslateSettings(ModelSettings):
    max_texts: int = Field(32, ge=1, le=1024)  # texts per request
    max_source_tokens: int = Field(100, ge=1, le=1000)  # longer texts get 422 (split them into sentences)
    max_output_tokens: int = Field(200, ge=1, le=1000)  # hard cap on max_length
    max_beam_size: int = Field(16, ge=1, le=128)
    length_alpha: float = Field(0.4, ge=0, le=5)  # default length normalization (GNMT alpha), chosen on val
    coverage_beta: float = Field(0.0, ge=0, le=5)  # default coverage penalty weight in beam search
    block_unk: bool = False  # default: never generate <unk>, so unknown source words are copied instead


class SpeechSettings(ModelSettings):
    max_body_bytes: int = Field(8_000_000, ge=1024)  # /transcribe bodies (WAV upload or base64 JSON) beyond this get 413
    max_audio_seconds: float = Field(20.0, gt=0, le=600)  # longer audio gets 422
    max_output_chars: int = Field(200, ge=1, le=2000)  # characters per transcript, at most
    max_beam_size: int = Field(16, ge=1, le=128)


class CaptionSettings(ModelSettings):
    max_body_bytes: int = Field(10_000_000, ge=1024)  # /caption bodies (upload or base64 JSON) beyond this get 413
    # width x height, read from the header before decoding; more -> 413. At most Pillow's own bomb limit.
    max_image_pixels: int = Field(25_000_000, ge=1, le=89_000_000)
    max_output_words: int = Field(30, ge=1, le=200)  # words per caption, at most (and the default max_length)
    max_beam_size: int = Field(16, ge=1, le=128)
    length_alpha: float = Field(0.0, ge=0, le=5)  # length normalization in beam search (GNMT alpha)
    block_unk: bool = True  # never generate <unk> (rare words): complete captions instead of "on a <unk>"


class SentimentSettings(ModelSettings):
    max_words: int = Field(100, ge=1, le=1000)  # longer sentences (or trees with more leaves) get 422
    max_tree_depth: int = Field(200, ge=1, le=1000)  # deeper bracket nesting in `tree` gets 422


class Settings(BaseSettings):
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
    # Model requests handled at once (reading, queued, computing, answering); more get 503 + Retry-After
    # before their body is read. Sheds load when HTTP itself is the bottleneck; probes are exempt.
    max_in_flight: int = Field(1024, ge=1)
    # Optional API key: when set, every request but health checks and /metrics needs it, as
    # `Authorization: Bearer <key>` or `X-API-Key: <key>`; otherwise 401. Off (None) by default.
    api_key: SecretStr | None = None
    cors_origins: list[str] = []  # browser origins allowed to call the API (CORS); none by default
    hull: HullSettings = HullSettings()
    translate: TranslateSettings = TranslateSettings()
    speech: SpeechSettings = SpeechSettings()
    caption_photo: CaptionSettings = CaptionSettings()  # POST /caption with model=photo
    caption_grounded: CaptionSettings = CaptionSettings()  # POST /caption with model=grounded
    sentiment: SentimentSettings = SentimentSettings()


@lru_cache
def get_settings() -> Settings:
    return Settings()
