"""Bounded outbound HTTP (orchestrator proxy, integration callbacks).

Every call has a timeout, a response size cap, accepts only http(s) URLs and never follows
redirects. Deployments can also refuse private destinations (see `AddressPolicy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec

from .errors import Invalid, UpstreamFailed

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class OutboundResponse:
    status_code: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        try:
            return msgspec.json.decode(self.body)
        except msgspec.DecodeError as exc:
            raise UpstreamFailed("upstream answered with invalid JSON") from exc


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Invalid("only http and https URLs are allowed")
    if not parts.hostname:
        raise Invalid("URL has no host")
    return url


async def request(
    method: str,
    url: str,
    *,
    json_body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> OutboundResponse:
    """One bounded request. Raises UpstreamFailed on network errors, timeouts and oversize bodies."""
    check_url(url)
    send_headers = dict(headers or {})
    if json_body is not None:
        send_headers.setdefault("content-type", "application/json")
    try:
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), follow_redirects=False, trust_env=False) as client,
            client.stream(method, url, content=json_body, headers=send_headers) as response,
        ):
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise UpstreamFailed(f"response larger than {max_bytes} bytes")
                chunks.append(chunk)
            return OutboundResponse(response.status_code, b"".join(chunks), dict(response.headers))
    except httpx.TimeoutException as exc:
        raise UpstreamFailed(f"timed out after {timeout_s:g}s") from exc
    except httpx.HTTPError as exc:
        raise UpstreamFailed(str(exc) or exc.__class__.__name__) from exc
