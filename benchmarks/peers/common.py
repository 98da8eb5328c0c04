"""What every peer server shares: the exported translate graphs, run by ONNX Runtime, and this repo's
tokenization and beam search (the model's decoding logic has to come from somewhere; the peers differ
only in how requests reach it). Answers are {"text": "..."} for a {"text": "..."} request."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from models.translate.search import decode
from service.engine.runtimes import RuntimeOptions, make_runtime
from service.handlers.translate import TranslateHandler, TranslateItem
from service.schemas.translate import TranslateRequest
from service.settings import TranslateSettings

ARTIFACTS = Path(os.environ.get("SEQ2SERVE_ARTIFACTS_DIR", "build/models")) / "translate"


def load() -> TranslateHandler:
    handler = TranslateHandler(ARTIFACTS, TranslateSettings())
    handler.load(make_runtime("onnx", ARTIFACTS, handler.graphs, RuntimeOptions(device="cpu")))
    return handler


def prepare(handler: TranslateHandler, body: dict[str, Any]) -> tuple[TranslateRequest, TranslateItem]:
    req = TranslateRequest(text=str(body["text"]))
    return req, handler.validate(req)[0]


def translate_batch(handler: TranslateHandler, items: list[TranslateItem]) -> list[Any]:
    return decode(handler.graph_runner(), [it.query for it in items], len(handler.tgt_vocab))


def answer(handler: TranslateHandler, req: TranslateRequest, item: TranslateItem, hyps: Any) -> dict[str, str]:
    return {"text": handler.respond([item], [hyps], req).results[0].translations[0].text}
