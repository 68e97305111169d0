"""The API's verified-token cache: it saves the signature check, never the revocation or expiry check."""

from __future__ import annotations

import time
from typing import Any

import pytest

from relay_api import token_auth
from relay_api.token_auth import TokenResolver
from relay_model.auth.tokens import Claims
from relay_model.errors import Unauthorized
from relay_model.scripts import ScriptGuard
from relay_model.settings import Settings

TOKEN = "header.payload.signature"


class StubTokens:
    """A TokenStore's two request-path calls: the signature check and the Redis check."""

    def __init__(self, exp: int) -> None:
        self.claims = Claims(sub="a1", role="agent", jti="j1", exp=exp, iat=exp - 3600)
        self.verified = 0
        self.checked = 0
        self.revoked = False

    def verify(self, token: str) -> Claims | None:
        self.verified += 1
        return self.claims if token == TOKEN else None

    def guard(self, subject: str, *, limit: int, jti: str | None = None) -> ScriptGuard:
        return ScriptGuard(kind="token", keys=(), args=(), refusal=lambda reason: Unauthorized(f"token {reason}"))

    async def check(self, guard: ScriptGuard) -> None:
        self.checked += 1
        if self.revoked:
            raise guard.refusal("revoked")


def resolver(tokens: StubTokens) -> TokenResolver:
    return TokenResolver(tokens, Settings())  # type: ignore[arg-type]


async def test_a_token_is_verified_once_and_checked_in_redis_every_time() -> None:
    tokens = StubTokens(exp=int(time.time()) + 3600)
    resolve = resolver(tokens)
    first, second = await resolve(TOKEN), await resolve(TOKEN)
    assert first is not None and first == second and first.sub == "a1" and first.jti == "j1"
    assert tokens.verified == 1 and tokens.checked == 2
    tokens.revoked = True
    with pytest.raises(Unauthorized, match="token revoked"):
        await resolve(TOKEN)


async def test_a_cached_token_still_expires_at_its_exp(monkeypatch: pytest.MonkeyPatch) -> None:
    exp = int(time.time()) + 3600
    resolve = resolver(StubTokens(exp=exp))
    assert await resolve(TOKEN) is not None
    clock: Any = type("Clock", (), {"time": staticmethod(lambda: float(exp)), "monotonic": time.monotonic})
    monkeypatch.setattr(token_auth, "time", clock)
    with pytest.raises(Unauthorized, match="token expired"):
        await resolve(TOKEN)


async def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(token_auth, "VERIFIED_MAX", 2)
    tokens = StubTokens(exp=int(time.time()) + 3600)
    tokens.verify = lambda token: tokens.claims  # type: ignore[method-assign]
    resolve = resolver(tokens)
    for i in range(5):
        await resolve(f"h.p.{i}")
        assert len(resolve._verified) <= 2
