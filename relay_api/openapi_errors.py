"""Make the OpenAPI document tell the truth about errors, auth and content types.

Every failure leaves as `{"error": text}` (relay_api/errors.py), but Litestar documents validation
failures with its own `{status_code, detail, extra}` shape and knows nothing of the relay's auth.
This documents, per operation, only the statuses it can answer:

- every /api operation: 503 (storage unavailable, `Retry-After`);
- with a token (every route but the public ones): 401, 403, 429 (per-token rate limit);
- with a JSON body: 400 and 413; with query or path parameters: 400, and 414 (a request target over
  `AGENT_RELAY_MAX_REQUEST_LINE_BYTES`, relay_api/http_limits.py: values the schema allows can be
  longer once percent-encoded);
- with a path parameter naming a record: 404;
- and what the operation's own logic refuses (`EXTRA`, by route name): 409 from the optimistic and
  compare-and-set writes, 422 for valid requests the current state refuses, 502 when the relay
  waits on an upstream (an orchestrator's API, a host's answer).

It also puts `security` (a bearer token or `X-Agent-Relay-Token`) on the operations that need a
token and on no other (the probes, `/api/health` and `/metrics` are public), gives `/api/events` its real content type
(`text/event-stream`) and documents `/readyz`'s 503.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.routes import HTTPRoute

from relay_api.auth import PUBLIC


class ErrorBody(msgspec.Struct):
    error: str


class ReadyBody(msgspec.Struct, omit_defaults=True):
    ok: bool
    error: str | None = None
    redis: str | None = None


ERROR_STATUSES: dict[int, str] = {
    400: "Invalid request (the text names the field and the rule)",
    401: "Missing, invalid, expired or revoked token",
    403: "The token lacks the route's scope, or may not act as the agent or orchestrator named",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Request body too large",
    414: "Request line (path and query) too long",
    422: "Valid request the current state refuses",
    429: "Rate limit or open-stream limit reached; see Retry-After",
    502: "An upstream (orchestrator, host) failed or did not answer in time",
    503: "Storage unavailable; see Retry-After",
}

# What an operation's own logic refuses, beyond what its shape implies (see the module docstring).
EXTRA: dict[str, frozenset[int]] = {
    # Session guard: a request from an older agent session than the registered one.
    "agents:register": frozenset({409}),
    "agents:heartbeat": frozenset({409}),
    "agents:status": frozenset({409}),
    "agents:spawn": frozenset({422}),
    "agents:actions": frozenset({422}),
    "automations:create": frozenset({409}),
    "automations:update": frozenset({409}),
    "channel-bindings:create": frozenset({404, 409}),
    "channels:event": frozenset({409, 422}),
    "commands:create": frozenset({409}),
    "commands:update": frozenset({409}),
    "connectors:actions": frozenset({422, 502}),
    "integrations:event": frozenset({409, 422}),
    "messages:send": frozenset({422}),
    "messages:claim": frozenset({409}),
    "messages:release": frozenset({409}),
    "orchestrators:spawn": frozenset({422}),
    "orchestrators:actions": frozenset({422}),
    "orchestrators:directories": frozenset({422, 502}),
    "host:directories": frozenset({404}),
    "pairs:create": frozenset({404, 409, 422}),
    "pairs:accept": frozenset({409}),
    "pairs:reject": frozenset({409}),
    "pairs:end": frozenset({409}),
    "pairs:message": frozenset({409}),
    "providers:put": frozenset({409}),
    "providers:test": frozenset({422, 502}),
    "recipes:start": frozenset({404, 422}),
    "tasks:create": frozenset({404}),
    "tasks:claim": frozenset({409}),
    "tasks:status": frozenset({409}),
}

# Operations with a second success status: created (201) or updated/repeated (200).
ALSO_SUCCEEDS: dict[str, int] = {
    "activity:create": 200,  # a repeated clientId answers the first entry
    "agents:register": 201,
    "orchestrators:register": 201,
    "connectors:put": 201,
    "messages:send": 200,  # a repeated idempotencyKey answers the first message
}

SECURED: list[dict[str, list[str]]] = [{"bearer": []}, {"relayToken": []}]
SSE_DESCRIPTION = "`text/event-stream`: `: connected`, then `id:` + `data: {type, source, subject, ts, data}` events"


def statuses_for(handler: HTTPRouteHandler, path: str) -> set[int]:
    """The error statuses one /api operation can answer."""
    statuses = {503}
    if handler.opt.get("scope") != PUBLIC:
        statuses |= {401, 403, 429}
    fields = handler.parsed_fn_signature.parameters
    if "data" in fields:
        statuses |= {400, 413}
    params = set(fields) - {"data", "request", "relay", "principal", "self", "state", "headers", "scope"}
    if params:
        statuses |= {400, 414}
    if "{" in path:
        statuses |= {400, 404, 414}
    return statuses | EXTRA.get(handler.name or "", frozenset())


def _error_specs(statuses: set[int]) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(data_container=ErrorBody, description=ERROR_STATUSES[status], generate_examples=False)
        for status in sorted(statuses)
    }


def document_errors(app: Litestar) -> None:
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            # No document-wide default: an operation without `security` needs no token.
            if handler.opt.get("scope") != PUBLIC:
                handler.security = SECURED
            extra: dict[int, ResponseSpec] = {}
            if route.path.startswith("/api"):
                extra.update(_error_specs(statuses_for(handler, route.path)))
            also = ALSO_SUCCEEDS.get(handler.name or "")
            if also is not None:
                extra[also] = ResponseSpec(
                    data_container=_success_type(handler),
                    description="Created" if also == 201 else "Already there: the existing record",
                    generate_examples=False,
                )
            if handler.name == "events:stream":
                extra[200] = ResponseSpec(
                    data_container=str,
                    media_type="text/event-stream",
                    description=SSE_DESCRIPTION,
                    generate_examples=False,
                )
            if handler.name == "probe:ready":
                extra[503] = ResponseSpec(
                    data_container=ReadyBody,
                    description="Not ready: draining, Redis not reached yet, or unreachable beyond the budget",
                    generate_examples=False,
                )
            handler.responses = {**extra, **(handler.responses or {})}


def _success_type(handler: HTTPRouteHandler) -> Any:
    """The body type of a handler's success response (`Response[T]` → `T`)."""
    returned = handler.parsed_fn_signature.return_type
    return returned.inner_types[0].annotation if returned.inner_types else returned.annotation


def public_operations(schema: dict[str, Any]) -> set[tuple[str, str]]:
    """(method, path) of every operation the document says needs no token."""
    return {
        (method, path)
        for path, item in schema.get("paths", {}).items()
        for method, op in item.items()
        if isinstance(op, dict) and not op.get("security") and not schema.get("security")
    }
