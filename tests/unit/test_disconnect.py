"""DisconnectMiddleware against a fake ASGI server: a client that goes away cancels the handler's wait, and
nothing else does."""

from __future__ import annotations

import asyncio

import pytest
from starlette.types import Message, Receive, Scope, Send

from service.middleware import DisconnectMiddleware
from tests.helpers import until

SCOPE = {"type": "http", "path": "/hull", "headers": []}


class FakeServer:
    """uvicorn's side of one request: the body, then `http.disconnect` once the client is gone or the
    response is complete."""

    def __init__(self) -> None:
        self.gone = asyncio.Event()
        self.sent: list[Message] = []
        self.body_given = False

    async def receive(self) -> Message:
        if not self.body_given:
            self.body_given = True
            return {"type": "http.request", "body": b"{}", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, msg: Message) -> None:
        self.sent.append(msg)
        if msg["type"] == "http.response.body" and not msg.get("more_body", False):
            self.gone.set()  # the response is complete: uvicorn's receive() now answers http.disconnect


class Handler:
    """Reads the body, waits (as a route waits on the batcher), then answers."""

    def __init__(self, wait_s: float = 60.0, after_response_s: float = 0.0) -> None:
        self.wait_s, self.after_response_s = wait_s, after_response_s
        self.waiting = asyncio.Event()
        self.cancelled = False
        self.finished = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        self.waiting.set()
        try:
            await asyncio.sleep(self.wait_s)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        await asyncio.sleep(self.after_response_s)  # e.g. a middleware's bookkeeping after the response
        self.finished = True


async def test_a_client_that_goes_away_cancels_the_waiting_handler() -> None:
    server, handler = FakeServer(), Handler()
    call = asyncio.create_task(DisconnectMiddleware(handler)(dict(SCOPE), server.receive, server.send))
    await until(handler.waiting.is_set)
    server.gone.set()
    await asyncio.wait_for(call, 5)  # returns, without raising
    assert handler.cancelled and server.sent == []


async def test_a_completed_response_is_never_cancelled() -> None:
    server, handler = FakeServer(), Handler(wait_s=0.01, after_response_s=0.05)
    await asyncio.wait_for(DisconnectMiddleware(handler)(dict(SCOPE), server.receive, server.send), 5)
    assert handler.finished and not handler.cancelled
    assert [m["type"] for m in server.sent] == ["http.response.start", "http.response.body"]


async def test_the_handlers_errors_propagate() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        raise RuntimeError("bug")

    server = FakeServer()
    with pytest.raises(RuntimeError, match="bug"):
        await DisconnectMiddleware(failing)(dict(SCOPE), server.receive, server.send)


async def test_later_receive_calls_get_the_disconnect_instead_of_competing_for_it() -> None:
    seen: list[str] = []

    async def listener(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        seen.append((await receive())["type"])  # as Starlette's is_disconnected() or a streaming response do
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    server = FakeServer()
    call = asyncio.create_task(DisconnectMiddleware(listener)(dict(SCOPE), server.receive, server.send))
    await asyncio.sleep(0.01)
    server.gone.set()
    await asyncio.wait_for(call, 5)
    assert seen in ([], ["http.disconnect"])  # cancelled first, or told: either way never left hanging
