"""The HTTP/1.1 connection protocol: uvicorn's h11 protocol with a deadline for request headers.

uvicorn closes a keep-alive connection that stays silent after a response (``timeout_keep_alive``),
but a connection that never completes its request headers — silent from the start, or trickling
one header byte at a time — is kept open forever (25 such sockets stayed open for good). Here every
request's headers must be complete within :data:`HEADER_TIMEOUT_S` of the connection's start or of
the previous response; the body has its own minimum rate (``inputs.BodyLimitMiddleware``). A
connection that has been answered but keeps trickling a body nobody reads is closed the same way.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

#: Seconds a client has to send a request's line and headers (a few hundred bytes; a real client
#: sends them in one packet, at once).
HEADER_TIMEOUT_S = 10.0


class GuardedH11Protocol(H11Protocol):
    """``uvicorn.run(..., http="cpuocr._serving.protocol:GuardedH11Protocol")``."""

    header_timeout_s = HEADER_TIMEOUT_S
    _headers_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_headers_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE and self.conn.our_state is not h11.DONE:
            self._cancel_headers_timer()  # a request's headers are in; the app has the body

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_headers_timer()  # the next request on this connection gets the same time

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_headers_timer()
        super().connection_lost(exc)

    def _arm_headers_timer(self) -> None:
        self._cancel_headers_timer()
        self._headers_timer = self.loop.call_later(self.header_timeout_s, self._headers_timeout)

    def _cancel_headers_timer(self) -> None:
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None

    def _headers_timeout(self) -> None:
        self._headers_timer = None
        waiting_for_headers = self.conn.their_state is h11.IDLE
        answered_but_trickling = self.conn.our_state is h11.DONE
        if (waiting_for_headers or answered_but_trickling) and not self.transport.is_closing():
            self.logger.info("closing a connection whose request headers did not arrive in time")
            self.transport.close()
