"""The orchestrator's directory API: what the dashboard's directory picker browses on this host.

`relay orchestrator --api-port P` serves one route, the one the relay's
`GET /api/orchestrators/:id/directories?path=` proxies to:

    GET /api/directories?path=<absolute, or relative to the base dir>
    Authorization: Bearer <api token>
    → 200 {"base", "path", "parent" | null, "directories": [{"name", "path"}], "truncated"}

The answer has the shape of the relay's own `/api/host/directories`. `path` is resolved to its real
path (`..` and symlinks followed) and must stay inside the real base dir (400 `path is outside the
orchestrator base directory`); only real, non-hidden sub-directories are listed (a symlink could
lead anywhere), at most MAX_ENTRIES of them (`truncated` then says so). The bearer token is random
per orchestrator start and registered with the relay as the orchestrator's `apiToken`, so the relay's
proxy sends it and nobody else has it: 401 `authentication required` / `invalid token` otherwise.
Anything but `GET /api/directories` is 404 / 405. Errors are `{"error": "..."}` like the relay's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import socket
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any, Final
from urllib.parse import parse_qs

import uvicorn

MAX_ENTRIES: Final = 2000
MAX_PATH_CHARS: Final = 4096

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class ListingError(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def _inside(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


def list_directories(base_dir: str, path: str | None) -> dict[str, Any]:
    """Blocking (run it in a thread). Raises ListingError(400 | 404, text)."""
    if path and (len(path) > MAX_PATH_CHARS or "\x00" in path):
        raise ListingError(400, f"path must be at most {MAX_PATH_CHARS} characters without NUL")
    base = os.path.realpath(base_dir)
    real = os.path.realpath(os.path.join(base, path) if path else base)  # an absolute `path` replaces the base
    if not _inside(real, base):
        raise ListingError(400, "path is outside the orchestrator base directory")
    if not os.path.isdir(real):
        raise ListingError(404, "directory not found")
    entries: list[dict[str, str]] = []
    truncated = False
    try:
        with os.scandir(real) as found:
            for entry in found:
                if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                    continue
                if len(entries) >= MAX_ENTRIES:
                    truncated = True
                    break
                entries.append({"name": entry.name, "path": os.path.join(real, entry.name)})
    except PermissionError as exc:
        raise ListingError(400, "directory is not readable") from exc
    entries.sort(key=lambda e: e["name"])
    parent = None if real == base else os.path.dirname(real)
    return {"base": base, "path": real, "parent": parent, "directories": entries, "truncated": truncated}


def directory_app(base_dir: str, token: str) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The ASGI app (one route; small enough that a framework would be most of it)."""
    expected = token.encode()

    async def reply(send: Send, status: int, body: Any, extra: list[tuple[bytes, bytes]] | None = None) -> None:
        data = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
        await send({"type": "http.response.body", "body": data})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] != "/api/directories":
            return await reply(send, 404, {"error": "not found"})
        if scope["method"] not in ("GET", "HEAD"):
            return await reply(send, 405, {"error": "method not allowed"}, [(b"allow", b"GET")])
        auth = dict(scope["headers"]).get(b"authorization", b"")
        if not auth:
            return await reply(send, 401, {"error": "authentication required"})
        scheme, _, given = auth.partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(given.strip(), expected):
            return await reply(send, 401, {"error": "invalid token"})
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        path = (query.get("path") or [""])[-1] or None
        try:
            body = await asyncio.to_thread(list_directories, base_dir, path)
        except ListingError as exc:
            return await reply(send, exc.status, {"error": exc.error})
        await reply(send, 200, body)

    return app


class _Server(uvicorn.Server):
    """uvicorn inside the orchestrator's loop: the orchestrator handles signals itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """Bind now, so a taken port fails the orchestrator's start rather than a background task."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve(sock: socket.socket, base_dir: str, token: str) -> None:
    config = uvicorn.Config(
        directory_app(base_dir, token), lifespan="off", log_level="warning", access_log=False, server_header=False
    )
    await _Server(config).serve(sockets=[sock])
