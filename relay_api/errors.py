"""One exception table: every failure leaves as `{"error": text}` with the right status code.

Litestar's own validation errors (msgspec decoding a request body or query) are reworded in the
seed's style (`status must be one of: …`, `ttlMs must be a positive integer`, `title required`).
"""

from __future__ import annotations

import logging
import re
import types
import typing
from typing import Any, Literal, get_args, get_origin

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import Send
from redis.exceptions import (
    ClusterError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from relay_model.errors import RelayError

log = logging.getLogger("relay.api")

# Seed texts for query parameters whose wording the original fixes.
QUERY_TEXTS = {
    "limit": "limit must be an integer between 1 and 500",
    "since": "since must be a non-negative integer",
    "before": "before must be a non-negative integer",
    # The cron preview's (GET /api/automations/schedule/preview) own bound.
    "count": "count must be an integer between 1 and 50",
    "after": "after must be a non-negative integer",
}

# Body fields whose every validation failure the seed words one way.
BODY_TEXTS = {
    "ttlSeconds": "ttlSeconds must be a positive integer",
}

_KIND_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


def error_response(status: int, text: str, headers: dict[str, str] | None = None) -> Response[dict[str, str]]:
    return Response({"error": text}, status_code=status, headers=headers)


async def send_error(send: Send, status: int, text: str, headers: dict[str, str] | None = None) -> None:
    """`error_response` written straight to an ASGI `send`, for middleware that answers in the app's
    place (the same JSON body and headers the exception handlers give)."""
    body = msgspec.json.encode({"error": text})
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _literal_values(tp: Any) -> tuple[str, ...] | None:
    origin = get_origin(tp)
    if origin is Literal:
        return tuple(str(a) for a in get_args(tp))
    if origin in (typing.Union, types.UnionType) or origin is typing.Annotated:
        for arg in get_args(tp):
            found = _literal_values(arg)
            if found:
                return found
    return None


def _field_type(request: Request[Any, Any, Any], key: str, source: str) -> Any:
    """The declared type of a body field or query parameter, to list an enum's values."""
    handler = request.route_handler
    params = handler.parsed_fn_signature.parameters
    if source == "body":
        data = params.get("data")
        for arg in _flatten(data.annotation if data is not None else None):
            if isinstance(arg, type) and issubclass(arg, msgspec.Struct):
                for field in msgspec.structs.fields(arg):
                    if field.encode_name == key:
                        return field.type
        return None
    for name, param in params.items():
        if (
            name == key
            or getattr(param.kwarg_definition, "name", None) == key
            or getattr(param.kwarg_definition, "query", None) == key
        ):
            return param.annotation
    return None


def _flatten(tp: Any) -> list[Any]:
    """Every type inside Annotated/Optional/Union wrappers."""
    args = get_args(tp)
    if not args or get_origin(tp) is Literal:
        return [tp]
    return [leaf for arg in args for leaf in _flatten(arg)]


def _words(kinds: str) -> str:
    return " or ".join(_KIND_WORDS.get(k.strip(), k.strip()) for k in kinds.split("|"))


def _wire_name(request: Request[Any, Any, Any], key: str) -> str:
    """A query parameter's name as clients spell it (`for`, `agentId`), not the Python one."""
    param = request.route_handler.parsed_fn_signature.parameters.get(key)
    alias = getattr(param.kwarg_definition, "name", None) if param is not None else None
    return str(alias or key)


def describe(request: Request[Any, Any, Any], key: str, message: str, source: str) -> str:
    """Reword one msgspec/Litestar validation message for field `key`."""
    if source == "query":
        key = _wire_name(request, key)
        if key in QUERY_TEXTS:
            return QUERY_TEXTS[key]
    if m := re.match(r"Object missing required field `(.+?)`", message):
        return f"{m.group(1)} required"
    if key in ("data", "") or key is None:
        if message.startswith("Expected `object") or message == "'data'":
            # An empty body, or JSON that is not an object; a route may word this the seed's way.
            return str(request.route_handler.opt.get("body_error", "JSON object body required"))
        return message
    if source == "body" and key in BODY_TEXTS:
        return BODY_TEXTS[key]
    return _describe_field(request, key, message, source)


def _describe_field(request: Request[Any, Any, Any], key: str, message: str, source: str) -> str:
    if message.startswith("Invalid enum value"):
        values = _literal_values(_field_type(request, key, source))
        if values:
            return f"{key} must be one of: {', '.join(values)}"
        return f"{key} has an unknown value"
    if m := re.match(r"Expected `int` >= (\d+)", message):
        return f"{key} must be a positive integer" if m.group(1) == "1" else f"{key} must be an integer >= {m.group(1)}"
    if m := re.match(r"Expected `int` <= (\d+)", message):
        return f"{key} must be an integer <= {m.group(1)}"
    if m := re.match(r"Expected `str` of length <= (\d+)", message):
        return f"{key} must be at most {m.group(1)} characters"
    if m := re.match(r"Expected `str` of length >= (\d+)", message):
        return f"{key} must not be empty" if m.group(1) == "1" else f"{key} must be at least {m.group(1)} characters"
    if m := re.match(r"Expected `(array|object)` of length <= (\d+)", message):
        return f"{key} must have at most {m.group(2)} items"
    if m := re.match(r"Expected `([^`]+)`, got `([^`]+)`", message):
        return f"{key} must be {_words(m.group(1))}"
    return f"{key}: {message}"


def _validation_text(request: Request[Any, Any, Any], exc: ValidationException) -> str:
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            key = str(item.get("key") or "")
            source = item.get("source") or "body"
            return describe(request, key, str(item.get("message") or ""), str(getattr(source, "value", source)))
    detail = str(exc.detail or "invalid request")
    if m := re.match(r"Missing required (?:query )?parameter '(.+?)'", detail):
        return f"{m.group(1)} required"
    if m := re.match(r"Missing required header '(.+?)'", detail):
        return f"{m.group(1)} header required"
    return detail


def handle_relay_error(_: Request[Any, Any, Any], exc: RelayError) -> Response[dict[str, str]]:
    return error_response(exc.status_code, exc.message, exc.headers)


def handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, str]]:
    return error_response(400, _validation_text(request, exc))


# Litestar's words when the client goes away while its body is read (it aborted, or relay_api/http_limits.py
# cut it off with a 408 of its own). Nobody reads the answer; 499 (nginx's "client closed request") keeps it
# out of the 5xx counts of /metrics and the access log, where it would page someone for a slow client.
CLIENT_GONE = "client disconnected prematurely"
CLIENT_GONE_STATUS = 499


def handle_http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, str]]:
    status = exc.status_code
    if status == HTTP_500_INTERNAL_SERVER_ERROR and exc.detail == CLIENT_GONE:
        return error_response(CLIENT_GONE_STATUS, "client closed request")
    if status == 404:
        text = "not found"
    elif status == 405:
        text = "method not allowed"
    elif status == 413:
        text = "request body too large"
    elif isinstance(exc.__cause__, SerializationException) and not str(exc.detail).startswith("JSON is malformed"):
        # msgspec's own words for a broken document ("Input data was truncated"), in one style.
        detail = str(exc.detail)
        text = "JSON is malformed: " + detail[:1].lower() + detail[1:]
    elif status >= 500:
        text = "internal error"
    else:
        text = str(exc.detail or "bad request")
    return error_response(status, text, dict(exc.headers or {}))


def storage_down(exc: Exception) -> tuple[int, str, dict[str, str]]:
    """The answer while Redis is away (logged): status, text, headers."""
    log.warning("storage unavailable: %s", exc)
    return 503, "storage unavailable", {"Retry-After": "1"}


def handle_storage_down(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, str]]:
    return error_response(*storage_down(exc))


def handle_cluster_client(request: Request[Any, Any, Any], exc: RedisClusterException) -> Response[dict[str, str]]:
    """The cluster client's own errors: no node reachable, or slots not served (mid-failover) is storage
    unavailable; anything else (a command the cluster cannot route) is a bug."""
    unreachable = isinstance(exc.__cause__, RedisConnectionError | RedisTimeoutError | OSError)
    if unreachable or isinstance(exc, SlotNotCoveredError):
        return handle_storage_down(request, exc)
    return handle_unexpected(request, exc)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, str]]:
    # Bodies msgspec cannot decode (invalid UTF-8 inside strings, absurd nesting) surface as these.
    if isinstance(exc, RecursionError):
        return error_response(400, "JSON is nested too deeply")
    if isinstance(exc, UnicodeDecodeError | msgspec.DecodeError):
        return error_response(400, "JSON is malformed")
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, "internal error")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    RelayError: handle_relay_error,
    ValidationException: handle_validation,
    HTTPException: handle_http,
    RedisConnectionError: handle_storage_down,
    RedisTimeoutError: handle_storage_down,
    # A replica promoted mid-failover (or a primary demoted) refuses writes for a moment.
    ReadOnlyError: handle_storage_down,
    # Redis at maxmemory with `noeviction` refuses writes (reads go on); retention frees room.
    OutOfMemoryError: handle_storage_down,
    # Redis Cluster: CLUSTERDOWN / MASTERDOWN while a shard fails over, TRYAGAIN while a slot migrates,
    # redirections that never settle ("TTL exhausted").
    ClusterError: handle_storage_down,
    TryAgainError: handle_storage_down,
    RedisClusterException: handle_cluster_client,
    Exception: handle_unexpected,
}
