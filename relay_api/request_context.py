"""Request ids and the access log: the outermost ASGI layer of an API node.

Every HTTP request gets an id: the caller's `X-Request-ID` when it is a sane token (1 to 128 of
`A-Z a-z 0-9 . _ : -`; anything else is replaced, so a header cannot inject into logs), otherwise
a fresh 16-hex-digit one. The id is echoed as `X-Request-ID` on the response, attached to every log
line written while the request is served (relay_model/logs.py), and, with the access log on
(`AGENT_RELAY_ACCESS_LOG` / `relay serve --access-log`), ends the request as one line with method,
path, status, duration and client. The same layer records the request's HTTP metrics
(relay_api/metrics.py). It is a plain ASGI function rather than a Litestar middleware so that it
also sees requests no route matched, and because every Litestar middleware comes with an exception
layer of its own: all of it costs a few µs per request (`bench/metrics_overhead.py`).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from relay_api.metrics import HttpMetrics
from relay_model.logs import REQUEST_ID

log = logging.getLogger("relay.access")

HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")


def request_id_from(headers: Iterable[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == HEADER:
            if _SANE.fullmatch(value):
                return value.decode("ascii")
            break
    return os.urandom(8).hex()


def request_context(app: ASGIApp, *, access_log: bool, metrics: HttpMetrics | None = None) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_id = request_id_from(scope["headers"])
        echoed = (HEADER, request_id.encode("ascii"))
        status = 0
        first_body = 0.0

        async def send_with_id(message: Message) -> None:
            nonlocal status, first_body
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            elif not first_body:
                first_body = time.perf_counter()
            await send(message)

        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        try:
            await app(scope, receive, send_with_id)
        finally:
            ended = time.perf_counter()
            # The router put the matched route's template in the scope; unrouted requests have none.
            template = scope.get("path_template")
            if metrics is not None and template:
                metrics.observe(scope["method"], template, status, (first_body or ended) - started)
            if access_log:
                _log_request(scope, status, ended - started)
            REQUEST_ID.reset(token)

    return middleware


def _log_request(scope: HTTPScope, status: int, seconds: float) -> None:
    client = scope.get("client")
    query = scope.get("query_string", b"")
    path = scope["path"] + ("?" + query.decode("latin-1") if query else "")
    fields = {
        "method": scope["method"],
        "path": path,
        "status": status,
        "durationMs": round(seconds * 1000, 2),
        "client": client[0] if client else None,
    }
    log.info("%s %s %s %.1fms", scope["method"], path, status or "-", seconds * 1000, extra={"relay": fields})
