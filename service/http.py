"""uvicorn's HTTP protocols with a deadline for a request's headers.

uvicorn closes idle keep-alive connections, but once a client has sent the first bytes of a request it
waits for the rest of the headers forever: a client that stalls there holds a connection (and a file
descriptor) for good. These protocols answer 408 and close the connection when the headers have not
arrived within SEQ2SERVE_READ_TIMEOUT_S of the request's first bytes. The body has the same deadline,
kept by service/middleware.py (AdmissionMiddleware) from the moment the headers arrived.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from service.errors import error_body

TIMEOUT_BODY = json.dumps(error_body("request_timeout", "the request headers did not arrive in time")).encode()
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    + f"content-length: {len(TIMEOUT_BODY)}\r\n\r\n".encode()
    + TIMEOUT_BODY
)


class HeaderDeadline:
    """Mixed into a uvicorn HTTP protocol: a timer from a request's first bytes to its complete headers."""

    header_timeout_s: float = 30.0
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    cycle: Any
    _header_timer: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        between_requests = self.cycle is None or self.cycle.response_complete
        if between_requests and self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_late)
        super().data_received(data)  # type: ignore[misc]
        if self.cycle is not None and not self.cycle.response_complete:  # the headers are complete
            self._cancel_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)  # type: ignore[misc]

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.write(TIMEOUT_RESPONSE)
            self.transport.close()


class H11WithHeaderDeadline(HeaderDeadline, H11Protocol):
    pass


def protocol(http: str, header_timeout_s: float) -> type[asyncio.Protocol]:
    """The uvicorn HTTP protocol class for SEQ2SERVE_HTTP (auto: httptools when installed), with the deadline."""
    base: type[asyncio.Protocol] = H11WithHeaderDeadline
    if http in ("auto", "httptools"):
        try:
            from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
        except ImportError:
            if http == "httptools":
                raise
        else:
            base = type("HttpToolsWithHeaderDeadline", (HeaderDeadline, HttpToolsProtocol), {})
    return type(base.__name__, (base,), {"header_timeout_s": header_timeout_s})
