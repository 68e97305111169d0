"""Tokens over HTTP: issuing, reading, revoking, and what a token may then do."""

from __future__ import annotations

import time

import jwt
from litestar.testing import AsyncTestClient

from relay_model.relay import Relay
from tests.security.conftest import PREVIOUS_SECRET, TOKEN_SECRET, Mint, bearer


async def test_create_shows_secret_once_and_records_the_rest(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    r = await client.post(
        "/api/tokens",
        json={"role": "agent", "sub": "a1", "scopes": ["messages:send"], "ttlSeconds": 3600, "createdBy": "ops"},
    )
    assert r.status_code == 201
    body = r.json()
    assert {k: body[k] for k in ("sub", "role", "scope", "createdBy", "revokedAt")} == {
        "sub": "a1",
        "role": "agent",
        "scope": ["messages:send"],
        "createdBy": "ops",
        "revokedAt": None,
    }
    claims = jwt.decode(body["token"], TOKEN_SECRET, algorithms=["HS256"])
    assert {k: claims[k] for k in ("sub", "role", "scope", "jti")} == {
        "sub": "a1",
        "role": "agent",
        "scope": ["messages:send"],
        "jti": body["jti"],
    }
    assert claims["exp"] - claims["iat"] == 3600
    assert body["expiresAt"] == claims["exp"] * 1000
    # Never again: neither the list nor the record carries the secret.
    listed = (await client.get("/api/tokens")).json()
    assert [t["jti"] for t in listed] == [body["jti"]] and "token" not in listed[0]
    one = (await client.get(f"/api/tokens/{body['jti']}")).json()
    assert "token" not in one and one["sub"] == "a1"
    stored = await relay.redis.hgetall(f"relay:{{auth}}:token:{body['jti']}")
    assert body["token"] not in str(stored)


async def test_defaults_sub_to_role_and_created_by_to_caller(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    body = (await client.post("/api/tokens", json={"role": "viewer"})).json()
    assert (body["sub"], body["createdBy"], body["scope"]) == ("viewer", "admin", [])


async def test_validation_texts(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    async def err(payload: object) -> tuple[int, str]:
        r = await client.post("/api/tokens", json=payload)
        return r.status_code, r.json()["error"]

    assert await err({}) == (400, "role required")
    assert await err([1]) == (400, "token body required")
    assert await err({"role": "root"}) == (
        400,
        "role must be one of: admin, operator, orchestrator, agent, integration, viewer",
    )
    for ttl in (0, -5, 1.5, [], {}):
        assert await err({"role": "agent", "ttlSeconds": ttl}) == (400, "ttlSeconds must be a positive integer")
    assert await err({"role": "agent", "ttlSeconds": 10**9}) == (400, "ttlSeconds must be at most 31622400")
    assert await err({"role": "agent", "sub": "x" * 161}) == (400, "sub must be at most 160 characters")
    assert await err({"role": "agent", "createdBy": "x" * 121}) == (400, "createdBy must be at most 120 characters")
    assert await err({"role": "agent", "scope": ["agents:admin"]}) == (
        400,
        "scope agents:admin is not granted to role agent",
    )
    assert (await err({"role": "agent", "scope": ["nope"]}))[1].startswith("scope nope is not a known scope")
    assert await err({"role": "agent", "scope": "agents:read"}) == (400, "scope must be an array or null")


async def test_get_and_revoke_texts(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    r = await client.get("/api/tokens/nope")
    assert (r.status_code, r.json()) == (404, {"error": "token not found"})
    r = await client.post("/api/tokens/nope/revoke")
    assert (r.status_code, r.json()) == (404, {"error": "token not found or already revoked"})
    jti = (await client.post("/api/tokens", json={"role": "viewer"})).json()["jti"]
    r = await client.post(f"/api/tokens/{jti}/revoke")
    assert (r.status_code, r.json()) == (200, {"ok": True})
    assert (await client.get(f"/api/tokens/{jti}")).json()["revokedAt"] is not None
    r = await client.post(f"/api/tokens/{jti}/revoke")
    assert (r.status_code, r.json()) == (404, {"error": "token not found or already revoked"})


async def test_revoked_token_is_refused_on_the_next_request(client: AsyncTestClient, mint: Mint) -> None:  # type: ignore[type-arg]
    token = await mint("viewer")
    assert (await client.get("/api/agents", headers=bearer(token))).status_code == 200
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    await client.post(f"/api/tokens/{jti}/revoke")
    r = await client.get("/api/agents", headers=bearer(token))
    assert (r.status_code, r.json()) == (401, {"error": "token revoked"})


async def test_expired_and_forged_tokens_are_refused(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    now = int(time.time())
    base = {"sub": "v", "role": "viewer", "scope": [], "jti": "j1"}
    expired = jwt.encode({**base, "iat": now - 100, "exp": now - 1}, TOKEN_SECRET, algorithm="HS256")
    r = await client.get("/api/agents", headers=bearer(expired))
    assert (r.status_code, r.json()) == (401, {"error": "token expired"})
    forged = jwt.encode(
        {**base, "iat": now, "exp": now + 60}, "another-secret-of-enough-length-0123456789", algorithm="HS256"
    )
    r = await client.get("/api/agents", headers=bearer(forged))
    assert (r.status_code, r.json()) == (401, {"error": "invalid token"})
    # `alg: none` is never accepted.
    unsigned = jwt.encode({**base, "iat": now, "exp": now + 60}, None, algorithm="none")
    assert (await client.get("/api/agents", headers=bearer(unsigned))).status_code == 401
    assert (await client.get("/api/agents", headers=bearer("garbage"))).json() == {"error": "invalid token"}


async def test_previous_key_is_accepted_during_rotation(redis_url: str, redis: object) -> None:
    from relay_api.app import create_app
    from relay_model.settings import Settings
    from tests.conftest import ADMIN_TOKEN

    old = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, token_secret=PREVIOUS_SECRET)
    async with AsyncTestClient(create_app(old)) as c:
        r = await c.post("/api/tokens", json={"role": "viewer"}, headers=bearer(ADMIN_TOKEN))
        token = r.json()["token"]
    rotated = Settings(
        redis_url=redis_url, admin_token=ADMIN_TOKEN, token_secret=TOKEN_SECRET, token_secret_previous=PREVIOUS_SECRET
    )
    async with AsyncTestClient(create_app(rotated)) as c:
        assert (await c.get("/api/agents", headers=bearer(token))).status_code == 200
    dropped = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, token_secret=TOKEN_SECRET)
    async with AsyncTestClient(create_app(dropped)) as c:
        assert (await c.get("/api/agents", headers=bearer(token))).json() == {"error": "invalid token"}


async def test_issuing_needs_a_signing_key(redis_url: str, redis: object) -> None:
    from relay_api.app import create_app
    from relay_model.settings import Settings
    from tests.conftest import ADMIN_TOKEN

    async with AsyncTestClient(create_app(Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN))) as c:
        r = await c.post("/api/tokens", json={"role": "viewer"}, headers=bearer(ADMIN_TOKEN))
        assert (r.status_code, r.json()) == (
            503,
            {"error": "token signing is not configured (set AGENT_RELAY_TOKEN_SECRET)"},
        )


async def test_scopes_of_roles_and_narrowing(client: AsyncTestClient, mint: Mint) -> None:  # type: ignore[type-arg]
    viewer = bearer(await mint("viewer"))
    assert (await client.get("/api/agents", headers=viewer)).status_code == 200
    r = await client.post("/api/agents", json={"id": "x"}, headers=viewer)
    assert (r.status_code, r.json()) == (403, {"error": "token lacks scope agents:register"})
    r = await client.get("/api/tokens", headers=viewer)
    assert (r.status_code, r.json()) == (403, {"error": "token lacks scope tokens:admin"})
    # A narrowed agent token keeps only what it names.
    narrow = bearer(await mint("agent", sub="a1", scope=["agents:register", "agents:read"]))
    assert (await client.post("/api/agents", json={"id": "a1"}, headers=narrow)).status_code == 201
    r = await client.post("/api/messages", json={"from": "a1", "to": "user", "body": "hi"}, headers=narrow)
    assert (r.status_code, r.json()) == (403, {"error": "token lacks scope messages:send"})
    # An admin-role JWT is as strong as the environment's admin token.
    admin = bearer(await mint("admin", sub="ops"))
    assert (await client.get("/api/tokens", headers=admin)).status_code == 200
    assert (await client.delete("/api/agents/a1", headers=admin)).status_code == 200


async def test_rate_limit_per_token(redis_url: str, redis: object) -> None:
    from relay_api.app import create_app
    from relay_model.settings import Settings
    from tests.conftest import ADMIN_TOKEN

    limits = {"admin": 0, "operator": 0, "orchestrator": 0, "agent": 3, "integration": 0, "viewer": 0}
    s = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, token_secret=TOKEN_SECRET, rate_limits=limits)
    async with AsyncTestClient(create_app(s)) as c:
        token = (await c.post("/api/tokens", json={"role": "agent", "sub": "a"}, headers=bearer(ADMIN_TOKEN))).json()
        other = (await c.post("/api/tokens", json={"role": "agent", "sub": "b"}, headers=bearer(ADMIN_TOKEN))).json()
        codes = [(await c.get("/api/agents", headers=bearer(token["token"]))).status_code for _ in range(4)]
        r = await c.get("/api/agents", headers=bearer(token["token"]))
        # A window may roll over between requests, so at least the 4th or 5th is refused, never earlier ones.
        assert codes[:3] == [200, 200, 200]
        assert 429 in (codes[3], r.status_code)
        limited = r if r.status_code == 429 else None
        if limited is not None:
            assert limited.json() == {"error": "rate limit exceeded: 3 requests per minute"}
            assert 1 <= int(limited.headers["retry-after"]) <= 60
        # Other tokens have their own budget; the admin token is exempt by default.
        assert (await c.get("/api/agents", headers=bearer(other["token"]))).status_code == 200
        for _ in range(5):
            assert (await c.get("/api/agents", headers=bearer(ADMIN_TOKEN))).status_code == 200
