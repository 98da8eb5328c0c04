"""The content-type check of the JSON-only routes (/hull, /translate, /sentiment).

FastAPI hands a body with any other content type to validation as raw bytes, which then fails with a
puzzling "Input should be a valid dictionary"; a 415 that names the expected type says what to fix
(`curl -d` sends application/x-www-form-urlencoded unless told otherwise).
"""

from __future__ import annotations

from email.message import Message

from fastapi import Request

from service.errors import UnsupportedMediaType


def is_json(content_type: str) -> bool:
    msg = Message()
    msg["content-type"] = content_type
    subtype = msg.get_content_subtype()
    return msg.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


async def require_json(request: Request) -> None:
    """415 unless the body is JSON; a missing content type is read as JSON (as FastAPI does)."""
    ctype = request.headers.get("content-type")
    if ctype is not None and not is_json(ctype):
        raise UnsupportedMediaType(f"content-type {ctype!r}: send the body as JSON with 'Content-Type: application/json'")
