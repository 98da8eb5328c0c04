"""What every peer server shares: the exported translate graphs, run by ONNX Runtime, and this repo's
tokenization and beam search (the model's decoding logic has to come from somewhere; the peers differ
only in how requests reach it). Answers are {"text": "..."} for a {"text": "..."} request."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from models.translate.handler import TranslateHandler, TranslateItem
from models.translate.schemas import TranslateRequest
from models.translate.settings import TranslateSettings
from service.engine.registry import loaded_handler

ARTIFACTS = Path(os.environ.get("SEQ2SERVE_ARTIFACTS_DIR", "build/models")) / "translate"


def load() -> TranslateHandler:
    # The graphs this service serves: its default precision, or SEQ2SERVE_TRANSLATE__PRECISION.
    precision = os.environ.get("SEQ2SERVE_TRANSLATE__PRECISION", TranslateSettings().precision)
    handler = loaded_handler("translate", ARTIFACTS, precision=precision)
    assert isinstance(handler, TranslateHandler)
    return handler


def prepare(handler: TranslateHandler, body: dict[str, Any]) -> tuple[TranslateRequest, TranslateItem]:
    req = TranslateRequest(text=str(body["text"]))
    return req, handler.decode(req)[0]


def translate_batch(handler: TranslateHandler, items: list[TranslateItem]) -> list[Any]:
    return handler.predict(items)


def answer(handler: TranslateHandler, req: TranslateRequest, item: TranslateItem, hyps: Any) -> dict[str, str]:
    return {"text": handler.encode(req, [item], [hyps]).results[0].translations[0].text}
