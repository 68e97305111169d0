"""`GET /api/whoami`: what the dashboard asks to offer only the actions a token may take."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from relay_api.scopes import AREAS, role_scopes, verbs_of
from tests.security.conftest import Mint, bearer

Client = AsyncTestClient  # type: ignore[type-arg]
EVERY_SCOPE = [f"{area}:{verb}" for area in AREAS for verb in verbs_of(area)]


async def test_the_admin_token_holds_every_scope(client: Client) -> None:
    r = await client.get("/api/whoami")
    assert r.status_code == 200
    assert r.json() == {"role": "admin", "sub": "admin", "jti": None, "scopes": EVERY_SCOPE, "narrowed": False}


async def test_a_role_token_lists_what_its_role_grants(client: Client, mint: Mint) -> None:
    for role in ("operator", "viewer", "agent", "orchestrator"):
        token = await mint(role, sub=f"{role}-1")
        body = (await client.get("/api/whoami", headers=bearer(token))).json()
        granted = role_scopes(role)
        assert body["role"] == role and body["sub"] == f"{role}-1" and body["narrowed"] is False
        assert body["scopes"] == [s for s in EVERY_SCOPE if s in granted]
    viewer = (await client.get("/api/whoami", headers=bearer(await mint("viewer")))).json()
    assert all(s.endswith(":read") for s in viewer["scopes"]) and "tokens:read" not in viewer["scopes"]


async def test_a_narrowed_token_lists_only_what_both_allow_and_may_still_ask(client: Client, mint: Mint) -> None:
    token = await mint("agent", sub="a1", scopes=["messages:*"])
    r = await client.get("/api/whoami", headers=bearer(token))
    assert r.status_code == 200  # it holds no area of its own, yet may ask about itself
    body = r.json()
    assert body["narrowed"] is True and body["jti"]
    assert body["scopes"] == ["messages:read", "messages:write", "messages:send", "messages:claim"]
    assert (await client.get("/api/agents", headers=bearer(token))).status_code == 403


async def test_whoami_refuses_a_missing_wrong_or_revoked_token(client: Client, mint: Mint) -> None:
    r = await client.get("/api/whoami", headers={"Authorization": ""})
    assert (r.status_code, r.json()) == (401, {"error": "authentication required"})
    r = await client.get("/api/whoami", headers={"Authorization": "Bearer nope"})
    assert (r.status_code, r.json()) == (401, {"error": "invalid token"})
    token = await mint("viewer")
    jti = (await client.get("/api/whoami", headers=bearer(token))).json()["jti"]
    assert (await client.post(f"/api/tokens/{jti}/revoke")).status_code == 200
    r = await client.get("/api/whoami", headers=bearer(token))
    assert (r.status_code, r.json()) == (401, {"error": "token revoked"})


async def test_the_preview_needs_automations_read(client: Client, mint: Mint) -> None:
    url = "/api/automations/schedule/preview?cron=*+*+*+*+*"
    assert (await client.get(url, headers=bearer(await mint("viewer")))).status_code == 200
    r = await client.get(url, headers=bearer(await mint("agent", sub="a1")))
    assert (r.status_code, r.json()) == (403, {"error": "token lacks scope automations:read"})
