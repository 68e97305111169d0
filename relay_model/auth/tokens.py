"""API tokens: signed JWTs (HS256) whose records and revocations live in Redis.

The token itself carries `sub`, `role`, `scope`, `exp`, `iat` and `jti`, so any API node verifies
it without a lookup; what a signature cannot say — that the token was revoked — is one `EXISTS` on a
marker whose TTL is the token's remaining lifetime, checked on every request together with the
rate-limit counter (`guard`: lua/_token_guard.lua, run at the start of the script doing the request's
work on a single Redis, else on its own). The API may keep a verified token's claims for a short
while (relay_api/token_auth.py), never whether it was revoked, so a revocation is seen by every node
on its very next request.

Signing keys rotate: tokens are signed with `AGENT_RELAY_TOKEN_SECRET`, and tokens signed with
`AGENT_RELAY_TOKEN_SECRET_PREVIOUS` are still accepted until the operator drops it.
"""

from __future__ import annotations

import math
import uuid
from importlib import resources
from typing import Annotated, Any, Final

import jwt
import msgspec
from msgspec import Meta
from redis.asyncio import Redis

from relay_model import keys
from relay_model.auth.roles import ROLES, Role
from relay_model.base import Input, Model
from relay_model.clock import now_ms
from relay_model.errors import Invalid, RateLimited, RelayError, Unauthorized, Unavailable
from relay_model.scripts import ScriptGuard, Scripts
from relay_model.validation import MAX_LIST_ITEMS

ALGORITHM: Final = "HS256"
MIN_SECRET_CHARS: Final = 32
# Records stay listable this long after their token expired, then Redis drops them.
RECORD_RETENTION_S: Final = 7 * 24 * 3600
RATE_WINDOW_MS: Final = 60_000
# The guard kind of the per-request token check (relay_model/scripts.py, ScriptGuard).
TOKEN_GUARD: Final = "token"  # noqa: S105 - a name, not a secret


def token_guard_lua() -> str:
    """The token guard's Lua, for `Scripts(guards={TOKEN_GUARD: ...})`."""
    return (resources.files(__package__) / "lua" / "_token_guard.lua").read_text()

ScopeItem = Annotated[str, Meta(min_length=1, max_length=80)]
ScopeList = Annotated[list[ScopeItem], Meta(max_length=MAX_LIST_ITEMS)]


class TokenRecord(Model):
    """What the relay keeps about a token: everything but the secret."""

    jti: str
    sub: str
    role: str
    scope: list[str] = msgspec.field(default_factory=list)
    expires_at: int | None = None
    created_at: int = 0
    created_by: str | None = None
    revoked_at: int | None = None


class IssuedToken(TokenRecord, kw_only=True):
    """The answer to creating a token: its record plus the secret, shown this once."""

    token: str


class CreateTokenInput(Input):
    role: Role
    sub: Annotated[str, Meta(max_length=160)] | None = None
    scope: ScopeList | None = None
    # The seed accepts either spelling.
    scopes: ScopeList | None = None
    # Checked after `role` (the seed's order); absent is the default lifetime, null is refused.
    ttl_seconds: Annotated[Any, Meta(description="positive integer (seconds)")] = msgspec.UNSET
    created_by: Annotated[str, Meta(max_length=120)] | None = None


class Claims(msgspec.Struct, frozen=True):
    """A verified token's claims."""

    sub: str
    role: str
    jti: str
    exp: int
    iat: int
    scope: list[str] = msgspec.field(default_factory=list)


class _Doc(msgspec.Struct, kw_only=True, rename="camel"):
    jti: str
    sub: str
    role: str
    scope: list[str]
    expires_at: int
    created_at: int
    created_by: str | None


_encode = msgspec.json.Encoder().encode
_decode_record = msgspec.json.Decoder(TokenRecord).decode
_claims = msgspec.convert


def check_secret(secret: str, name: str = "AGENT_RELAY_TOKEN_SECRET") -> None:
    if secret and len(secret) < MIN_SECRET_CHARS:
        raise ValueError(f"{name} must be at least {MIN_SECRET_CHARS} characters")


class TokenStore:
    def __init__(
        self,
        redis: Redis,
        scripts: Scripts,
        *,
        secret: str,
        previous_secret: str = "",
        default_ttl_s: int,
        max_ttl_s: int,
    ) -> None:
        check_secret(secret)
        check_secret(previous_secret, "AGENT_RELAY_TOKEN_SECRET_PREVIOUS")
        self.redis = redis
        self.scripts = scripts
        self.secret = secret
        self.previous_secret = previous_secret
        self.default_ttl_s = default_ttl_s
        self.max_ttl_s = max_ttl_s

    # --- issuing and reading records ---------------------------------------------------------

    async def create(
        self, *, role: str, sub: str, scope: list[str], ttl_s: int | None, created_by: str | None
    ) -> IssuedToken:
        if not self.secret:
            raise Unavailable("token signing is not configured (set AGENT_RELAY_TOKEN_SECRET)")
        if role not in ROLES:
            raise Invalid(f"role must be one of: {', '.join(ROLES)}")
        ttl = ttl_s if ttl_s is not None else self.default_ttl_s
        if ttl > self.max_ttl_s:
            raise Invalid(f"ttlSeconds must be at most {self.max_ttl_s}")
        now = now_ms()
        iat = now // 1000
        exp = iat + ttl
        doc = _Doc(
            jti=uuid.uuid4().hex,
            sub=sub,
            role=role,
            scope=list(dict.fromkeys(scope)),
            expires_at=exp * 1000,
            created_at=now,
            created_by=created_by,
        )
        claims = {"sub": sub, "role": role, "scope": doc.scope, "jti": doc.jti, "iat": iat, "exp": exp}
        secret = jwt.encode(claims, self.secret, algorithm=ALGORITHM)
        await self.scripts.run(
            "token_issue",
            [keys.token(doc.jti), keys.tokens_all()],
            [doc.jti, _encode(doc), doc.expires_at, exp + RECORD_RETENTION_S, now],
        )
        return IssuedToken(**{f: getattr(doc, f) for f in doc.__struct_fields__}, token=secret)

    @staticmethod
    def _record(doc: str | None, revoked_at: str | None) -> TokenRecord | None:
        if not doc:
            return None
        record = _decode_record(doc)
        if revoked_at:
            record.revoked_at = int(revoked_at)
        return record

    async def get(self, jti: str) -> TokenRecord | None:
        doc, revoked_at = await self.redis.hmget(keys.token(jti), ["doc", "revokedAt"])  # type: ignore[misc]
        return self._record(doc, revoked_at)

    async def list(self, *, limit: int = 500) -> list[TokenRecord]:
        """Newest first. Records past their retention are gone; their index entries are pruned here."""
        jtis: list[str] = await self.redis.zrevrange(keys.tokens_all(), 0, limit - 1)
        if not jtis:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for jti in jtis:
            pipe.hmget(keys.token(jti), ["doc", "revokedAt"])
        out: list[TokenRecord] = []
        gone: list[str] = []
        for jti, (doc, revoked_at) in zip(jtis, await pipe.execute(), strict=True):
            record = self._record(doc, revoked_at)
            if record is None:
                gone.append(jti)
            else:
                out.append(record)
        if gone:
            await self.redis.zrem(keys.tokens_all(), *gone)
        return out

    async def revoke(self, jti: str) -> int:
        """Revoke; returns revokedAt. 404 "token not found or already revoked" otherwise."""
        (revoked_at,) = await self.scripts.run_checked(
            "token_revoke", [keys.token(jti), keys.token_revoked(jti)], [now_ms()]
        )
        return int(revoked_at)

    # --- verifying -----------------------------------------------------------------------------

    def verify(self, token: str) -> Claims | None:
        """The claims of a token signed with the current or previous key; None when it is not ours.

        Raises Unauthorized("token expired") for a genuine token past its `exp`.
        """
        for secret in (self.secret, self.previous_secret):
            if not secret:
                continue
            try:
                raw: dict[str, Any] = jwt.decode(
                    token,
                    secret,
                    algorithms=[ALGORITHM],
                    options={"require": ["exp", "iat", "jti", "sub"]},
                )
            except jwt.ExpiredSignatureError as exc:
                raise Unauthorized("token expired") from exc
            except jwt.InvalidTokenError:
                continue
            try:
                return _claims(raw, Claims)
            except msgspec.ValidationError:
                return None
        return None

    def guard(self, subject: str, *, limit: int, jti: str | None = None) -> ScriptGuard:
        """The check of one request by token `jti` (revoked?) counted under `subject` (over `limit`
        requests in this minute's window? 0: not counted). Pass it to the script doing the request's
        work, or `await check(guard)` on its own."""
        now = now_ms()
        window = now // RATE_WINDOW_MS
        retry_after_s = math.ceil(((window + 1) * RATE_WINDOW_MS - now) / 1000)

        def refusal(reason: str) -> RelayError:
            if reason == "revoked":
                return Unauthorized("token revoked")
            return RateLimited(f"rate limit exceeded: {limit} requests per minute", retry_after_s=retry_after_s)

        return ScriptGuard(
            kind=TOKEN_GUARD,
            keys=(keys.token_revoked(jti or ""), keys.rate_window(subject, window)),
            args=(limit, RATE_WINDOW_MS),
            refusal=refusal,
        )

    async def check(self, guard: ScriptGuard) -> None:
        """The guard's check in a round trip of its own; raises its refusal (401 revoked, 429 rate)."""
        await self.scripts.run("token_check", [], [], guard=guard)

    # --- SSE connection leases -----------------------------------------------------------------

    async def take_sse(self, subject: str, conn: str, *, lease_ms: int, max_conns: int) -> bool:
        now = now_ms()
        granted = await self.scripts.run(
            "sse_lease", [keys.sse_leases(subject)], [now, conn, now + lease_ms, max_conns, "take"]
        )
        return bool(granted)

    async def renew_sse(self, subject: str, conn: str, *, lease_ms: int) -> None:
        now = now_ms()
        await self.scripts.run("sse_lease", [keys.sse_leases(subject)], [now, conn, now + lease_ms, 0, "renew"])

    async def drop_sse(self, subject: str, conn: str) -> None:
        await self.scripts.run("sse_lease", [keys.sse_leases(subject)], [now_ms(), conn, 0, 0, "drop"])
