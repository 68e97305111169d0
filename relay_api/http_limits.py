"""Request-head size limits and slow-client timeouts, enforced in the HTTP protocol before the app.

uvicorn's httptools protocol puts no bound on a request's head: a 96 MiB header was read whole (the
parser re-concatenates a header value as it grows, so time grows quadratically and memory with it),
and a client trickling its head or its body one byte at a time was held forever. `RelayHttpProtocol`
is that protocol (`relay serve` registers it as uvicorn's `http=`) with five bounds:

- **head size** (`AGENT_RELAY_MAX_HEADER_BYTES`, default 16 KiB): the request line and every header
  together. Bytes of a head are fed to the parser only up to the limit; one more is a **431**
  `{"error": "request headers too large"}`. The parser never holds more than the limit.
- **request line** (`AGENT_RELAY_MAX_REQUEST_LINE_BYTES`, default 8 KiB): the request target (path
  and query). Longer is a **414** `{"error": "request line too long"}`.
- **head time** (`AGENT_RELAY_HEADER_TIMEOUT_S`, default 10 s): from a connection's opening, or a
  request's first byte, to the end of its head. Late is a **408** `{"error": "request timeout"}`;
  a connection that never sent a byte is closed silently (browsers open spare connections).
- **body time** (`AGENT_RELAY_BODY_TIMEOUT_S`, default 30 s): from the end of the head to the end of
  the body (a whole 1 MiB body at ~35 KB/s). Late is a **408** when no response was started, else the
  connection is closed. It does not limit how long a response (an SSE stream) lasts.
- **send stall** (`AGENT_RELAY_SEND_TIMEOUT_S`, default 30 s): a response whose client has read
  nothing for this long — the kernel's send queue full and the transport's buffer past its high-water
  mark the whole time — is cut (the connection aborted). Without it a client that asks for a large
  response (a long history page, a replaying event stream) and never reads held its buffer and the
  handler forever. A slow reader that makes progress is never cut: each pause starts the clock anew.

A refused connection is answered, half-closed, and then read and discarded for at most `LINGER_S`
before it is closed: closing a socket with unread input sends a reset, which can destroy the
answer before the client reads it. Nothing read in that time is kept.

Why 16 KiB: what real clients send is far below it (measured, see the README's HTTP limits section:
httpx ~190 B, curl with a bearer token ~450 B, Chromium ~650 B plus cookies), a relay token is under
1 KiB, and 16 KiB is what Node.js allows; 8 KiB for the request line is nginx's default.
"""

from __future__ import annotations

import asyncio
import functools
import http
from dataclasses import dataclass
from typing import Any, Final

import httptools
import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from relay_model.settings import Settings

# How long a refused connection is drained (its input discarded) before it is closed.
LINGER_S: Final = 1.0

HEADERS_TOO_LARGE: Final = "request headers too large"
LINE_TOO_LONG: Final = "request line too long"
TIMEOUT: Final = "request timeout"
INVALID: Final = "invalid HTTP request"


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_header_bytes: int
    max_request_line_bytes: int
    header_timeout_s: float
    body_timeout_s: float
    send_timeout_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            max_request_line_bytes=settings.max_request_line_bytes,
            header_timeout_s=settings.header_timeout_s,
            body_timeout_s=settings.body_timeout_s,
            send_timeout_s=settings.send_timeout_s,
        )


@functools.cache
def limits_from_env() -> HttpLimits:
    """Read once per process (uvicorn's worker processes read the same environment)."""
    return HttpLimits.from_settings(Settings.from_env())


class Refused(Exception):
    """Raised in a parser callback to stop parsing a request that is refused."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


_encode = msgspec.json.Encoder().encode


class RelayHttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits_from_env()
        self._in_head = True  # reading a request head (or waiting for one)
        self._head_bytes = 0  # bytes of the current head fed to the parser
        self._url_bytes = 0
        self._request_started = False  # a byte of the current request arrived
        self._deadline: asyncio.TimerHandle | None = None
        self._stalled: asyncio.TimerHandle | None = None  # writes paused since; see `pause_writing`
        self._draining = False

    # --- timers -------------------------------------------------------------------------------

    def _arm(self, delay: float, callback: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(delay, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_late(self) -> None:
        self._deadline = None
        if self._request_started:
            self._refuse(408, TIMEOUT)
        elif not self.transport.is_closing():
            self.transport.close()  # an idle connection: nothing to answer

    def _body_late(self) -> None:
        self._deadline = None
        self._refuse(408, TIMEOUT)

    # --- connection ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_timeout_s, self._head_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._unstall()
        super().connection_lost(exc)

    # --- flow control: the transport pauses us when the client stops reading -----------------

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stalled is None and self.limits.send_timeout_s > 0:
            self._stalled = self.loop.call_later(self.limits.send_timeout_s, self._send_stalled)

    def resume_writing(self) -> None:
        self._unstall()
        super().resume_writing()

    def _unstall(self) -> None:
        if self._stalled is not None:
            self._stalled.cancel()
            self._stalled = None

    def _send_stalled(self) -> None:
        self._stalled = None
        self.logger.info("client read nothing for %g s: connection cut", self.limits.send_timeout_s)
        # abort, not close, and also when the transport is closing already (a whole response written
        # to a `Connection: close` client): closing waits for the unread buffer to be flushed, which
        # is the stall itself.
        self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self._draining:
            return  # a refused request's remaining input: read and dropped
        self._unset_keepalive_if_required()
        while data:
            if self._in_head:
                room = self.limits.max_header_bytes - self._head_bytes
                if room <= 0:
                    self._refuse(431, HEADERS_TOO_LARGE)
                    return
                piece, data = data[:room], data[room:]
                self._head_bytes += len(piece)
            else:
                # A body (bounded by the app's body limit and the body timeout). A next pipelined
                # request starting in this chunk is counted from the next chunk on.
                piece, data = data, b""
            if not self._feed(piece):
                return

    def _feed(self, piece: bytes) -> bool:
        """uvicorn's data_received for one piece; False when the connection is done with."""
        try:
            self.parser.feed_data(piece)
        except httptools.HttpParserCallbackError as exc:
            refused = exc.__context__
            if isinstance(refused, Refused):
                self._refuse(refused.status, refused.error)
                return False
            raise
        except httptools.HttpParserError as exc:
            # uvicorn answers these in text/plain; the relay's errors are `{"error": ...}` everywhere.
            self.logger.warning("invalid HTTP request received: %s", exc)
            self._refuse(400, INVALID)
            return False
        except httptools.HttpParserUpgrade:
            # No upgrade is served (uvicorn answers or hands the socket to its websocket
            # protocol); either way this protocol's deadlines no longer apply.
            self._disarm()
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return False
        return True

    # --- parser callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # `_head_bytes` is not reset here: the piece being parsed was counted whole before this call.
        self._url_bytes = 0
        if not self._request_started:
            self._request_started = True
            if self._deadline is None:  # a request on a kept-alive connection
                self._arm(self.limits.header_timeout_s, self._head_late)

    def on_url(self, url: bytes) -> None:
        self._url_bytes += len(url)
        if self._url_bytes > self.limits.max_request_line_bytes:
            raise Refused(414, LINE_TOO_LONG)
        super().on_url(url)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._arm(self.limits.body_timeout_s, self._body_late)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._request_started = False
        # The next request's head starts here (what follows in the current piece is not counted).
        self._in_head = True
        self._head_bytes = 0
        super().on_message_complete()

    # --- refusing -----------------------------------------------------------------------------

    def _refuse(self, status: int, error: str) -> None:
        """Answer `status` with `{"error": error}` and close, unless a response is under way on this
        connection (then it cannot be answered in between, and is only closed)."""
        self._disarm()
        transport = self.transport
        if transport.is_closing():
            return
        self.logger.info("refused a request: %d %s", status, error)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if cycle.response_started:
                transport.close()
                return
            # The app is still reading this request: it gets a disconnect, and its answer is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        body = _encode({"error": error})
        head = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n".encode()]
        head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        transport.write(b"".join(head) + body)
        if transport.can_write_eof():
            transport.write_eof()
            self._draining = True
            self.loop.call_later(LINGER_S, transport.close)
        else:
            transport.close()
