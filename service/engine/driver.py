"""One request, from the task's request to its response: the path every protocol shares.

A REST route (models/<task>/route.py) or the v2 infer route (service/routes/kserve.py) builds the task's
request and calls `drive`; so both get the same checks and limits, the same thread offloading, the same
deadline, batching and errors:

    handler.decode(request) -> items -> the model's batcher or step scheduler (one submit per item, each
    batched with other requests' items) -> handler.predict(batch) -> outputs -> handler.encode(...)
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import Request

from service.errors import InvalidInput

if TYPE_CHECKING:  # the registry imports the tasks, whose routes import this module
    from service.engine.registry import Registry


async def drive(request: Request, model: str, req: Any) -> Any:
    """The response of served model `model` to `req`, the handler's request type.

    Raises the service's errors (service/errors.py): ModelNotFound, Unavailable (not ready, shutting down,
    queue full), InvalidInput and PayloadTooLarge from decode, DeadlineExceeded, InferenceFailed.
    """
    registry: Registry = request.app.state.registry
    served = registry.get(model)
    handler = served.ready_handler()
    items = await asyncio.to_thread(handler.decode, req) if handler.offload else handler.decode(req)
    check_work(served.name, [handler.work(item) for item in items], served.settings.max_request_work)
    timeout = request.app.state.settings.request_timeout_s
    group = object()  # this request: its items are admitted in turn with other requests' (step batching)
    outputs = list(await asyncio.gather(*(served.submit(item, timeout, group, handler.rows(item)) for item in items)))
    if handler.offload:
        return await asyncio.to_thread(handler.encode, req, items, outputs)
    return handler.encode(req, items, outputs)


def check_work(model: str, work: list[int], limit: int | None) -> None:
    """422 at once for a request that would need more decoder work than the server allows per request."""
    total = sum(work)
    if limit is not None and total > limit:
        raise InvalidInput(
            f"work: this request needs up to {total} decoder steps (items x beam_size x max_length), more than "
            f"this server's limit of {limit} per request (SEQ2SERVE_{model.upper()}__MAX_REQUEST_WORK); send fewer "
            "items, or a smaller beam_size or max_length"
        )
