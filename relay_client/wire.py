"""The wire side of a call that does no I/O (paths, bodies, decoding, errors), shared by both clients."""

from __future__ import annotations

import functools
from importlib import metadata
from typing import Any, TypeVar, cast
from urllib.parse import quote

import httpx
import msgspec

from relay_client.errors import RelayError

T = TypeVar("T")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def version() -> str:
    try:
        return metadata.version("agent-relay")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "0+unknown"


def seg(value: str | int) -> str:
    """One URL path segment: ids are any text (agent ids anything but `/`), so everything is escaped."""
    return quote(str(value), safe="")


def compact(fields: dict[str, Any]) -> dict[str, Any]:
    """A JSON body or query without the fields the caller left out (None)."""
    return {k: v for k, v in fields.items() if v is not None}


def query(fields: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            out[key] = ",".join(str(v) for v in value)
        else:
            out[key] = str(value)
    return out


_encoder = msgspec.json.Encoder()


def encode(body: Any) -> bytes:
    return _encoder.encode(body)


@functools.lru_cache(maxsize=256)
def _decoder(type_: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(type_)


def decode(response: httpx.Response, type_: type[T]) -> T:
    try:
        value: T = _decoder(cast(Any, type_)).decode(response.content)
    except msgspec.DecodeError as exc:
        raise RelayError(
            response.status_code, f"unexpected response from the relay: {exc}", _body(response)
        ) from None
    return value


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return response.text


def error_from(response: httpx.Response) -> RelayError:
    body = _body(response)
    if isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]:
        text = body["error"]
    elif isinstance(body, str) and body.strip():
        text = body.strip()[:500]
    else:
        text = response.reason_phrase or f"HTTP {response.status_code}"
    return RelayError(response.status_code, text, body, _retry_after(response))


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    try:
        return max(float(raw), 0.0) if raw else None
    except ValueError:  # an HTTP date: the relay never sends one
        return None


def transport_error(url: str, exc: httpx.HTTPError) -> RelayError:
    unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
    kind = "cannot reach the relay" if unsent else "relay call failed"
    detail = str(exc) or type(exc).__name__
    return RelayError(0, f"{kind} at {url}: {detail}")
