"""Authentication and scope checks.

Every route declares the scope it needs in its `opt` (`opt={"scope": "agents:write"}`); the guard
below resolves the caller's token to a `Principal` and checks that scope. `PUBLIC` routes skip it.
Token kinds plug in as resolvers: the admin token from the environment is built in; signed API
tokens (relay_api/token_auth.py) and configured integration tokens add theirs. What each role may do
is the table in relay_api/scopes.py; as whom it may act, relay_api/ownership.py.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from relay_api.scopes import matches
from relay_model.errors import Forbidden, Unauthorized

PUBLIC = "public"
# Any valid token, whatever its scopes: only `GET /api/whoami`, which tells a token about itself.
AUTHENTICATED = "authenticated"
ALL_SCOPES = "*"
# Where the guard leaves the caller's principal in the request scope's state.
PRINCIPAL_KEY = "principal"


@dataclass(frozen=True, slots=True)
class Principal:
    role: str
    sub: str
    # What the role grants (relay_api/scopes.py) ...
    scopes: frozenset[str] = field(default_factory=frozenset)
    jti: str | None = None
    # ... narrowed by the token's own `scope` claim when it has one (never widened).
    narrow: frozenset[str] | None = None

    def has(self, scope: str) -> bool:
        # `agents:*` grants every scope of the agents area; `*` grants everything.
        return matches(self.scopes, scope) and (self.narrow is None or matches(self.narrow, scope))


Resolver = Callable[[str], Awaitable[Principal | None]]


def bearer_token(headers: Any) -> str | None:
    token: str | None = headers.get("x-agent-relay-token")
    if token:
        return token.strip()
    auth: str | None = headers.get("authorization")
    if auth and auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


# The environment's admin token always resolves to this one principal.
ADMIN = Principal(role="admin", sub="admin", scopes=frozenset({ALL_SCOPES}))


class Authenticator:
    def __init__(self, admin_token: str) -> None:
        self.admin_token = admin_token
        self._admin_bytes = admin_token.encode()
        self.resolvers: list[Resolver] = []
        # Called on every use of the environment's admin token (its rate limit, when one is set).
        self.on_admin: Callable[[], Awaitable[None]] | None = None

    def add_resolver(self, resolver: Resolver) -> None:
        self.resolvers.append(resolver)

    async def resolve(self, token: str) -> Principal | None:
        if self.admin_token and hmac.compare_digest(token.encode(), self._admin_bytes):
            if self.on_admin is not None:
                await self.on_admin()
            return ADMIN
        for resolver in self.resolvers:
            principal = await resolver(token)
            if principal is not None:
                return principal
        return None

    async def authenticate(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
        token = bearer_token(connection.headers)
        if not token:
            raise Unauthorized("authentication required")
        principal = await self.resolve(token)
        if principal is None:
            raise Unauthorized("invalid token")
        return principal


def route_scope(handler: BaseRouteHandler) -> str:
    scope = handler.opt.get("scope")
    if not scope:
        # A route that forgot to declare its scope is admin-only rather than open.
        return "admin"
    return str(scope)


async def auth_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    scope = route_scope(handler)
    if scope == PUBLIC:
        return
    authenticator: Authenticator = connection.app.state.authenticator
    principal = await authenticator.authenticate(connection)
    if scope != AUTHENTICATED and not principal.has(scope):
        # A route may also let a narrower scope in (`delegated_scope`); its handler then applies
        # the narrower rules itself (e.g. an orchestrator issuing tokens for its own agents).
        delegated = handler.opt.get("delegated_scope")
        if not (isinstance(delegated, str) and principal.has(delegated)):
            raise Forbidden(f"token lacks scope {scope}")
    # Straight into the scope's state dict: `connection.state` builds a new `State` (with its own lock)
    # on every access, which cost ~30 µs of a send's CPU time twice per request (bench/PROFILE.md).
    connection.scope["state"][PRINCIPAL_KEY] = principal


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal: Principal = connection.scope["state"][PRINCIPAL_KEY]
    return principal
