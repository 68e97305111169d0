"""Signed tokens on the request path: verify, check revocation and count the rate — in the script that
does the request's work where a route carries the check there (`deferred`), else in a round trip of
its own — and hold a lease per open SSE stream so a token's streams are counted across all nodes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import AsyncGenerator
from typing import Final, NamedTuple, TypeVar

from relay_api.auth import Principal
from relay_api.scopes import role_scopes
from relay_model.auth.roles import ROLES
from relay_model.auth.tokens import TokenStore
from relay_model.errors import RateLimited, Unauthorized
from relay_model.scripts import ScriptGuard
from relay_model.settings import Settings

log = logging.getLogger("relay.auth")

ADMIN_SUBJECT = "admin-env"
T = TypeVar("T")


# A verified token's principal is reused for this long (and never past the token's `exp`)...
VERIFIED_TTL_S: Final = 60.0
# ... for at most this many tokens per node; a full cache is emptied and refills as tokens come back.
VERIFIED_MAX: Final = 4096


class _Verified(NamedTuple):
    principal: Principal
    exp: int  # the token's own expiry (unix seconds)
    until: float  # when this node checks the signature again (monotonic)


class TokenResolver:
    """An `Authenticator` resolver for the relay's own JWTs.

    The signature check and the principal built from the claims are kept per token string for up to
    `VERIFIED_TTL_S` (a token's claims cannot change; verifying one with PyJWT was ~60 µs of an
    agent's send, bench/PROFILE.md). Revocation is not cached: every request still asks Redis, in
    the same round trip as the rate counter, so a revocation holds on every node at once.
    """

    def __init__(self, tokens: TokenStore, settings: Settings) -> None:
        self.tokens = tokens
        self.limits = settings.rate_limits
        self._verified: dict[str, _Verified] = {}

    def _principal(self, token: str) -> Principal | None:
        hit = self._verified.get(token)
        if hit is not None and time.monotonic() < hit.until:
            if time.time() >= hit.exp:  # what PyJWT would say: expired from `exp` on
                del self._verified[token]
                raise Unauthorized("token expired")
            return hit.principal
        claims = self.tokens.verify(token)
        if claims is None or claims.role not in ROLES:
            return None
        principal = Principal(
            role=claims.role,
            sub=claims.sub,
            scopes=role_scopes(claims.role),
            jti=claims.jti,
            narrow=frozenset(claims.scope) if claims.scope else None,
        )
        if len(self._verified) >= VERIFIED_MAX:
            self._verified.clear()
        self._verified[token] = _Verified(principal, claims.exp, time.monotonic() + VERIFIED_TTL_S)
        return principal

    async def __call__(self, token: str) -> Principal | None:
        if token.count(".") != 2:
            return None  # not a JWT: some other resolver's token
        principal = self._principal(token)
        if principal is None:
            return None
        await self.tokens.check(self.guard_for(principal))
        return principal

    def deferred(self, token: str) -> tuple[Principal, ScriptGuard] | None:
        """The token's principal, and its check still to be made: by the script doing the request's
        work (one round trip for both), or by `settle` when no script carried it."""
        if token.count(".") != 2:
            return None
        principal = self._principal(token)
        if principal is None:
            return None
        return principal, self.guard_for(principal)

    def guard_for(self, principal: Principal) -> ScriptGuard:
        return self.tokens.guard(
            principal.jti or "", limit=self.limits.get(principal.role, 0), jti=principal.jti
        )

    async def settle(self, guard: ScriptGuard) -> None:
        """Make a deferred check that no script made (the request was refused before its work, say)."""
        await self.tokens.check(guard)

    async def limit_integration(self, name: str) -> None:
        """A configured integration's requests count like any token's: its own window, the integration
        role's limit (`AGENT_RELAY_RATE_LIMIT_INTEGRATION_PER_MINUTE`), across all nodes."""
        limit = self.limits.get("integration", 0)
        if limit:
            await self.tokens.check(self.tokens.guard(integration_subject(name), limit=limit))

    async def limit_admin(self) -> None:
        """The environment's admin token has its own limit (`AGENT_RELAY_RATE_LIMIT_ADMIN_PER_MINUTE`)."""
        limit = self.limits.get("admin", 0)
        if limit:
            await self.tokens.check(self.tokens.guard(ADMIN_SUBJECT, limit=limit))


def integration_subject(name: str) -> str:
    """What a configured integration's requests and streams are counted under (no jti can look like it)."""
    return f"integration:{name}"


def stream_subject(principal: Principal) -> str:
    """What SSE connections are counted per: the token (its jti), a configured integration, or the
    environment's admin token."""
    if principal.jti:
        return principal.jti
    if principal.role == "integration":
        return integration_subject(principal.sub)
    return ADMIN_SUBJECT


class SseLeases:
    """At most `max_per_token` open event streams per token, across every node. Each stream holds a
    lease in Redis that it renews while it runs; a node that dies stops renewing, so its streams stop
    counting once their leases run out."""

    def __init__(self, tokens: TokenStore, *, max_per_token: int, keepalive_s: float) -> None:
        self.tokens = tokens
        self.max = max_per_token
        # Idle streams still yield a keep-alive every `keepalive_s`, which is when leases renew.
        self.lease_ms = int(max(60.0, 4 * keepalive_s) * 1000)

    async def open(self, subject: str) -> str:
        """Take a lease for a new stream; 429 when the token already holds the maximum."""
        conn = uuid.uuid4().hex
        if not await self.tokens.take_sse(subject, conn, lease_ms=self.lease_ms, max_conns=self.max):
            raise RateLimited(
                f"too many open event streams for this token (at most {self.max})",
                retry_after_s=math.ceil(self.lease_ms / 1000),
            )
        return conn

    async def release(self, subject: str, conn: str) -> None:
        with contextlib.suppress(Exception):
            await asyncio.shield(self.tokens.drop_sse(subject, conn))

    async def hold(self, subject: str, conn: str, body: AsyncGenerator[T, None]) -> AsyncGenerator[T, None]:
        """`body`, renewing the lease as it runs and dropping it when the client goes away."""
        renew_after = self.lease_ms / 3000
        renewed = time.monotonic()
        try:
            async for item in body:
                yield item
                if time.monotonic() - renewed >= renew_after:
                    renewed = time.monotonic()
                    await self.tokens.renew_sse(subject, conn, lease_ms=self.lease_ms)
        finally:
            await body.aclose()
            # The lease runs out by itself if this fails (Redis down, task cancelled).
            await self.release(subject, conn)
