"""Authentication and scope checks.

Every route declares the scope it needs in its `opt` (`opt={"scope": "agents:write"}`); the guard
below resolves the caller's token to a `Principal` and checks that scope. `PUBLIC` routes skip it.
Token kinds plug in as resolvers: the admin token from the environment is built in; signed API
tokens (relay_api/token_auth.py) and configured integration tokens add theirs. What each role may do
is the table in relay_api/scopes.py; as whom it may act, relay_api/ownership.py.

**The token check in the work's script.** A signed token's per-request check (revoked? over its rate
limit?) needs Redis. A route that declares `opt={"token_check": IN_SCRIPT}` gets it deferred: the
guard leaves it in the scope's state (`token_guard_of`), the handler hands it to the script that does
the request's work, and that script makes the check first, in the same round trip (a refusal is the
same 401 or 429, and the work does not happen). Whatever answer such a request gets without a script
having made the check — a 400 for its body, a 403, a 404 — waits for the check to be made on its own
first (relay_api.app.auth_middleware), so a revoked or limited token still gets its 401 or 429 first
and every request counts against the limit, exactly as when the check comes first. Only on a single
Redis (`Authenticator.deferring` unset on a Redis Cluster, where the token's keys and the work's are
in different slots).
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
from relay_model.scripts import ScriptGuard

PUBLIC = "public"
# Any valid token, whatever its scopes: only `GET /api/whoami`, which tells a token about itself.
AUTHENTICATED = "authenticated"
ALL_SCOPES = "*"
# Where the guard leaves the caller's principal in the request scope's state.
PRINCIPAL_KEY = "principal"
# ... and a signed token's deferred check (see the module docstring).
GUARD_KEY = "token_guard"
# `opt={"token_check": IN_SCRIPT}`: the route hands the token check to its work's script.
IN_SCRIPT = "in_script"


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
        # Signed tokens whose check can wait for the work's script, and how a check no script made is
        # made after all (relay_api/token_auth.py); unset, every check is made up front.
        self.deferring: Callable[[str], tuple[Principal, ScriptGuard] | None] | None = None
        self.settle: Callable[[ScriptGuard], Awaitable[None]] | None = None

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

    async def authenticate(self, connection: ASGIConnection[Any, Any, Any, Any], *, defer: bool = False) -> Principal:
        token = bearer_token(connection.headers)
        if not token:
            raise Unauthorized("authentication required")
        if defer and self.deferring is not None:
            found = self.deferring(token)
            if found is not None:
                connection.scope["state"][GUARD_KEY] = found[1]
                return found[0]
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
    principal = await authenticator.authenticate(connection, defer=handler.opt.get("token_check") == IN_SCRIPT)
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


def token_guard_of(connection: ASGIConnection[Any, Any, Any, Any]) -> ScriptGuard | None:
    """The request's deferred token check, for the script doing its work (None: made already)."""
    guard: ScriptGuard | None = connection.scope["state"].get(GUARD_KEY)
    return guard
