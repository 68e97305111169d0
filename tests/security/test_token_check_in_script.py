"""The token check carried in the work's script (relay_api/auth.py): on the routes that take it there
(send, inbox and history reads, claim) a revoked or rate-limited token gets exactly what it got when
the check came first — its 401 or 429 before any other refusal, nothing stored — and every request,
refused or not, counts against the limit."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from relay_api.app import create_app
from relay_model.settings import Settings
from tests.conftest import ADMIN_TOKEN, AUTH
from tests.security.conftest import TOKEN_SECRET, Mint, bearer

MINE, OTHER = "mine", "other"
REVOKED = (401, {"error": "token revoked"})


async def _revoked_token(client: AsyncTestClient, mint: Mint) -> dict[str, str]:  # type: ignore[type-arg]
    for agent in (MINE, OTHER):
        assert (await client.post("/api/agents", json={"id": agent})).status_code == 201
    secret = await mint("agent", sub=MINE)
    jti = (await client.get("/api/whoami", headers=bearer(secret))).json()["jti"]
    assert (await client.post(f"/api/tokens/{jti}/revoke")).status_code == 200
    return bearer(secret)


async def _stored(client: AsyncTestClient) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    r = await client.get("/api/messages", params={"limit": 500})
    assert r.status_code == 200
    return list(r.json())


async def test_a_revoked_token_gets_its_401_before_any_other_answer_and_changes_nothing(
    client: AsyncTestClient,  # type: ignore[type-arg]
    mint: Mint,
) -> None:
    token = await _revoked_token(client, mint)
    claimable = (await client.post("/api/messages", json={"from": OTHER, "to": MINE, "claimable": True})).json()
    before = await _stored(client)
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/api/messages", {"from": MINE, "to": OTHER, "body": "hi"}),  # would be 201
        ("POST", "/api/messages", {"from": MINE, "to": OTHER, "body": 5}),  # would be 400
        ("POST", "/api/messages", {"from": OTHER, "to": MINE, "body": "forged"}),  # would be 403
        ("POST", "/api/messages", None),  # no body at all: would be 400
        ("GET", f"/api/messages?for={MINE}", None),  # would be 200
        ("GET", f"/api/messages?for={OTHER}", None),  # would be 403
        ("GET", f"/api/messages?to={MINE}&limit=0", None),  # would be 400
        ("POST", f"/api/messages/{claimable['id']}/claim", {"agentId": MINE}),  # would be 200
        ("POST", "/api/messages/999999/claim", {"agentId": MINE}),  # would be 404
    ]
    for method, path, body in calls:
        r = await client.request(method, path, json=body, headers=token)
        assert (r.status_code, r.json()) == REVOKED, (method, path, body)
        assert r.headers["content-type"] == "application/json"
    assert await _stored(client) == before
    assert (await client.get(f"/api/messages/{claimable['id']}")).json()["claimedBy"] is None


async def test_the_rate_limit_counts_every_request_and_refuses_before_the_work(redis_url: str, redis: object) -> None:
    limits = {"admin": 0, "operator": 0, "orchestrator": 0, "agent": 4, "integration": 0, "viewer": 0}
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, token_secret=TOKEN_SECRET, rate_limits=limits)
    async with AsyncTestClient(create_app(settings)) as c:
        c.headers.update(AUTH)
        for agent in (MINE, OTHER):
            assert (await c.post("/api/agents", json={"id": agent})).status_code in (200, 201)
        issued = (await c.post("/api/tokens", json={"role": "agent", "sub": MINE})).json()
        token = bearer(issued["token"])
        # A window may roll over between requests: retry the whole run once if it did.
        for _ in range(2):
            codes = [
                (await c.post("/api/messages", json={"from": MINE, "to": OTHER, "body": "a"}, headers=token)).status_code,
                (await c.post("/api/messages", json={"from": MINE, "to": OTHER, "body": 5}, headers=token)).status_code,
                (await c.get(f"/api/messages?for={OTHER}", headers=token)).status_code,
                (await c.get(f"/api/messages?for={MINE}", headers=token)).status_code,
            ]
            over = await c.post("/api/messages", json={"from": MINE, "to": OTHER, "body": "b"}, headers=token)
            if over.status_code == 429:
                break
        # The refused requests (400, 403) counted as the others did; the fifth is over the limit.
        assert codes[1:3] == [400, 403] and codes[0] in (201, 429) and codes[3] in (200, 429)
        assert (over.status_code, over.json()) == (429, {"error": "rate limit exceeded: 4 requests per minute"})
        assert 1 <= int(over.headers["retry-after"]) <= 60
        bodies = [m["body"] for m in (await c.get("/api/messages", params={"from": MINE})).json()]
        assert "b" not in bodies
        # Once limited, a request that would be refused anyway gets the 429 too (as with the check first).
        bad = await c.post("/api/messages", json={"from": MINE, "to": OTHER, "body": 5}, headers=token)
        assert bad.status_code == 429
