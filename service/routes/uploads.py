"""Reading a file-carrying request: a multipart upload (field `file` plus option fields) or JSON with the
file base64-encoded. /transcribe (WAV) and /caption (PNG, JPEG) take both."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from service.errors import InvalidInput, UnsupportedMediaType, json_loads
from service.schemas.common import Options, Upload


def parse(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as e:  # the same 422 body as FastAPI's own request validation
        raise RequestValidationError(e.errors(include_url=False)) from e


def openapi_body(options: type[BaseModel], json_body: type[BaseModel], file_description: str) -> dict[str, Any]:
    """The requestBody both forms document in OpenAPI (FastAPI cannot infer it from a raw Request)."""
    form = {"type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary", "description": file_description},
                           **options.model_json_schema()["properties"]}}  # fmt: skip
    content = {"multipart/form-data": {"schema": form}, "application/json": {"schema": json_body.model_json_schema()}}
    return {"requestBody": {"required": True, "content": content}}


async def read_upload(request: Request, options: type[Options], json_body: type[BaseModel], b64_field: str,
                      what: str) -> Upload[Options]:  # fmt: skip
    """The file and its options from either form; 415 for any other content type, 422 for a bad field."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=16) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput(f"file: send the {what} as the multipart field 'file'")
            opts = parse(options, {k: v for k, v in form.items() if k != "file"})
            return Upload(await upload.read(), opts)
    if ctype.startswith("application/json"):
        body = parse(json_body, json_loads(await request.body()))
        try:
            data = base64.b64decode(getattr(body, b64_field), validate=True)
        except (binascii.Error, ValueError) as e:
            raise InvalidInput(f"{b64_field}: not valid base64") from e
        return Upload(data, options(**body.model_dump(exclude={b64_field})))
    raise UnsupportedMediaType(
        f"content-type {ctype or '(none)'!r}: send multipart/form-data with a 'file' field, or JSON with '{b64_field}'"
    )
