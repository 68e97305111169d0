"""Directory pickers: an orchestrator's directories (proxied to its API) and this host's (under one base).

`GET /api/host/directories?path=` answers

    {"base": "/home/me", "path": "/home/me/src", "parent": "/home/me" | null,
     "directories": [{"name": "relay", "path": "/home/me/src/relay"}, …], "truncated": false}

`path` may be absolute or relative to the base; it is resolved to its real path (every symlink and
`..` followed) and must stay inside the real base, else 400 "path is outside the host base
directory". Listed entries are real sub-directories only: symlinks are not listed (a link could
point anywhere), nor are hidden (dot) directories. At most MAX_ENTRIES are returned, sorted by name.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Final
from urllib.parse import quote

import msgspec

from relay_model import outbound
from relay_model.agents.orchestrators import Orchestrator, api_url_problem
from relay_model.errors import Invalid, NotFound, RelayError, Unprocessable, UpstreamFailed

PROXY_TIMEOUT_S: Final = 5.0
PROXY_MAX_BYTES: Final = 1024 * 1024
MAX_ENTRIES: Final = 2000
URI_COMPONENT_SAFE: Final = "-_.!~*'()"


class DirectoryEntry(msgspec.Struct):
    name: str
    path: str


class HostDirectories(msgspec.Struct):
    base: str
    path: str
    parent: str | None
    directories: list[DirectoryEntry]
    truncated: bool = False


def _inside(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


def list_host_directories(base_dir: str, path: str | None) -> HostDirectories:
    """Blocking; run it in a thread."""
    if path and "\x00" in path:
        raise NotFound("directory not found")  # no file name holds a NUL (os calls would raise ValueError)
    base = os.path.realpath(base_dir)
    requested = os.path.join(base, path) if path else base  # an absolute `path` replaces the base
    real = os.path.realpath(requested)
    if not _inside(real, base):
        raise Invalid("path is outside the host base directory")
    if not os.path.isdir(real):
        raise NotFound("directory not found")
    entries: list[DirectoryEntry] = []
    truncated = False
    try:
        with os.scandir(real) as it:
            for entry in it:
                if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                    continue
                if len(entries) >= MAX_ENTRIES:
                    truncated = True
                    break
                entries.append(DirectoryEntry(name=entry.name, path=os.path.join(real, entry.name)))
    except PermissionError as exc:
        raise Invalid("directory is not readable") from exc
    entries.sort(key=lambda e: e.name)
    parent = None if real == base else os.path.dirname(real)
    return HostDirectories(base=base, path=real, parent=parent, directories=entries, truncated=truncated)


async def host_directories(base_dir: str, path: str | None) -> HostDirectories:
    return await asyncio.to_thread(list_host_directories, base_dir, path)


async def orchestrator_directories(
    orch: Orchestrator, path: str | None, api_token: str | None = None
) -> tuple[int, Any]:
    """The seed's proxy: `<apiUrl>/api/directories[?path=…]`, 5 s, size cap, no redirects.

    With the `apiToken` the orchestrator registered, the call carries `Authorization: Bearer <it>`
    (`relay orchestrator --api-port` refuses calls without it); seed-era orchestrators register none.

    Returns the orchestrator's status code and JSON body; 422 when it has no API or is not online;
    502 "Failed to reach orchestrator API: …" when the call fails, redirects, answers non-JSON or
    with a status code outside 200-599 (which could not be passed on). The path is the relay's:
    `apiUrl` is an origin (checked again here, for records an older node stored).
    """
    if not orch.api_url:
        raise Unprocessable("orchestrator does not expose an API")
    if orch.status != "online":
        raise Unprocessable("orchestrator is offline")
    # encodeURIComponent's safe set, so the orchestrator sees what the original relay sent.
    query = "?path=" + quote(path, safe=URI_COMPONENT_SAFE) if path else ""
    url = f"{orch.api_url}/api/directories{query}"
    try:
        if problem := api_url_problem(orch.api_url):
            raise UpstreamFailed(problem)
        headers = {"Authorization": f"Bearer {api_token}"} if api_token else None
        response = await outbound.request(
            "GET", url, headers=headers, timeout_s=PROXY_TIMEOUT_S, max_bytes=PROXY_MAX_BYTES
        )
        if 300 <= response.status_code < 400:
            raise UpstreamFailed(f"redirect refused (HTTP {response.status_code})")
        if not 200 <= response.status_code <= 599:
            raise UpstreamFailed(f"invalid HTTP status {response.status_code}")
        return response.status_code, response.json()
    except RelayError as exc:
        raise UpstreamFailed(f"Failed to reach orchestrator API: {exc.message}") from exc
