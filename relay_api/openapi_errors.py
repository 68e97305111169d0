"""Document the relay's error shape in the OpenAPI schema.

Every failure leaves as `{"error": text}` (relay_api/errors.py), but Litestar documents validation
failures with its own `{status_code, detail, extra}` shape. This puts the real shape on every /api
operation, for every status the relay answers with, so clients and schema-driven tests (the
schemathesis run in tests/security) see what the wire carries.
"""

from __future__ import annotations

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.routes import HTTPRoute


class ErrorBody(msgspec.Struct):
    error: str


ERROR_STATUSES: dict[int, str] = {
    400: "Invalid request (the text names the field and the rule)",
    401: "Missing, invalid, expired or revoked token",
    403: "The token lacks the route's scope, or may not act as the agent or orchestrator named",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Request body too large",
    422: "Valid request the current state refuses",
    429: "Rate limit or open-stream limit reached; see Retry-After",
    502: "An upstream (orchestrator, callback receiver) failed",
    503: "Storage unavailable; see Retry-After",
}


def document_errors(app: Litestar) -> None:
    responses = {
        status: ResponseSpec(data_container=ErrorBody, description=text, generate_examples=False)
        for status, text in ERROR_STATUSES.items()
    }
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api"):
            continue
        for handler in route.route_handlers:
            if isinstance(handler, HTTPRouteHandler):
                handler.responses = {**responses, **(handler.responses or {})}
