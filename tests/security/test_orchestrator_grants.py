"""What an orchestrator token may do beyond the scope table, so `relay orchestrator` runs without the
admin token: issue and revoke agent tokens for the agents it manages, read provider env values to
launch them, and register a bearer token the relay's directory proxy sends to its API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from litestar.testing import AsyncTestClient

from relay_model.relay import Relay
from tests.security.conftest import Mint, bearer


async def _managed(client: AsyncTestClient, mint: Mint) -> dict[str, str]:  # type: ignore[type-arg]
    """Orchestrator h1 (its own token) managing agent a1; agent a2 belongs to nobody, b1 to h2."""
    orch = bearer(await mint("orchestrator", sub="h1"))
    assert (await client.post("/api/orchestrators", json={"id": "h1", "hostname": "box"}, headers=orch)).status_code == 201
    r = await client.post("/api/agents", json={"id": "a1", "orchestratorId": "h1"}, headers=orch)
    assert r.status_code == 201
    assert (await client.post("/api/agents", json={"id": "a2"})).status_code == 201
    assert (await client.post("/api/agents", json={"id": "b1", "orchestratorId": "h2"})).status_code == 201
    return orch


async def test_orchestrator_issues_agent_tokens_only_for_its_agents(client: AsyncTestClient, mint: Mint, relay: Relay) -> None:  # type: ignore[type-arg]
    orch = await _managed(client, mint)
    r = await client.post("/api/tokens", json={"role": "agent", "sub": "a1", "createdBy": "someone"}, headers=orch)
    assert r.status_code == 201, r.text
    issued = r.json()
    # The record names the orchestrator as issuer whatever the body said.
    assert (issued["role"], issued["sub"], issued["createdBy"]) == ("agent", "a1", "orchestrator:h1")
    agent = bearer(issued["token"])
    assert (await client.post("/api/agents/a1/heartbeat", json={}, headers=agent)).status_code == 200

    refusals = [
        ({"role": "agent", "sub": "a2"}, 'orchestrator token for "h1" cannot handle tokens of agent "a2"'),
        ({"role": "agent", "sub": "b1"}, 'orchestrator token for "h1" cannot handle tokens of agent "b1"'),
        ({"role": "agent", "sub": "orchestrator:h1"}, 'orchestrator token for "h1" cannot handle tokens of agent "orchestrator:h1"'),
        ({"role": "agent", "sub": "nobody"}, 'orchestrator token for "h1" cannot handle tokens of agent "nobody"'),
        ({"role": "operator", "sub": "a1"}, 'orchestrator token for "h1" may only handle agent tokens'),
        ({"role": "orchestrator", "sub": "h1"}, 'orchestrator token for "h1" may only handle agent tokens'),
    ]
    for body, text in refusals:
        r = await client.post("/api/tokens", json=body, headers=orch)
        assert (r.status_code, r.json()) == (403, {"error": text}), body
    assert [t.sub for t in await relay.tokens.list(limit=50) if t.role == "agent"] == ["a1"]
    # Reading token records stays operator-only.
    for path in ("/api/tokens", f"/api/tokens/{issued['jti']}"):
        r = await client.get(path, headers=orch)
        assert (r.status_code, r.json()) == (403, {"error": "token lacks scope tokens:admin"})
    # An agent token may not issue tokens at all.
    r = await client.post("/api/tokens", json={"role": "agent", "sub": "a1"}, headers=agent)
    assert (r.status_code, r.json()) == (403, {"error": "token lacks scope tokens:admin"})


async def test_orchestrator_revokes_only_its_agents_tokens(client: AsyncTestClient, mint: Mint) -> None:  # type: ignore[type-arg]
    orch = await _managed(client, mint)
    mine = (await client.post("/api/tokens", json={"role": "agent", "sub": "a1"}, headers=orch)).json()
    other = (await client.post("/api/tokens", json={"role": "agent", "sub": "a2"})).json()
    operator = (await client.post("/api/tokens", json={"role": "operator"})).json()
    for record, text in [
        (other, 'orchestrator token for "h1" cannot handle tokens of agent "a2"'),
        (operator, 'orchestrator token for "h1" may only handle agent tokens'),
    ]:
        r = await client.post(f"/api/tokens/{record['jti']}/revoke", headers=orch)
        assert (r.status_code, r.json()) == (403, {"error": text})
    r = await client.post("/api/tokens/nope/revoke", headers=orch)
    assert (r.status_code, r.json()) == (404, {"error": "token not found or already revoked"})
    r = await client.post(f"/api/tokens/{mine['jti']}/revoke", headers=orch)
    assert (r.status_code, r.json()) == (200, {"ok": True})
    r = await client.get("/api/agents/a1", headers=bearer(mine["token"]))
    assert (r.status_code, r.json()) == (401, {"error": "token revoked"})
    r = await client.post(f"/api/tokens/{mine['jti']}/revoke", headers=orch)
    assert (r.status_code, r.json()) == (404, {"error": "token not found or already revoked"})
    # The others still work.
    assert (await client.get("/api/agents/a2", headers=bearer(other["token"]))).status_code == 200


async def test_provider_env_is_shown_only_to_the_hosts_that_launch_providers(client: AsyncTestClient, mint: Mint) -> None:  # type: ignore[type-arg]
    r = await client.put("/api/providers/claude/config", json={"command": "claude", "env": {"ANTHROPIC_API_KEY": "sk-1"}})
    assert r.status_code == 200 and r.json()["env"] == {"ANTHROPIC_API_KEY": "********"}
    orch = bearer(await mint("orchestrator", sub="h1"))
    for headers in (orch, {}):  # the orchestrator, and the admin (the client's default headers)
        r = await client.get("/api/providers/claude/config", params={"reveal": "env"}, headers=headers)
        assert (r.status_code, r.json()["env"]) == (200, {"ANTHROPIC_API_KEY": "sk-1"})
    assert (await client.get("/api/providers/claude/config", headers=orch)).json()["env"] == {"ANTHROPIC_API_KEY": "********"}
    for role in ("operator", "viewer"):
        r = await client.get("/api/providers/claude/config", params={"reveal": "env"}, headers=bearer(await mint(role)))
        assert (r.status_code, r.json()) == (403, {"error": "only orchestrator tokens and providers:admin may read provider env values"})
    r = await client.get("/api/providers/claude/config", params={"reveal": "all"}, headers=orch)
    assert (r.status_code, r.json()) == (400, {"error": "reveal must be env"})


@contextmanager
def recording_api() -> Iterator[tuple[str, list[str | None]]]:
    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            body = json.dumps({"base": "/b", "path": "/b", "parent": None, "directories": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


async def test_registered_api_token_is_sent_by_the_proxy_and_never_shown(client: AsyncTestClient, mint: Mint) -> None:  # type: ignore[type-arg]
    orch = bearer(await mint("orchestrator", sub="h1"))
    with recording_api() as (url, seen):
        body = {"id": "h1", "hostname": "box", "apiUrl": url, "apiToken": "dir-secret-1"}
        assert (await client.post("/api/orchestrators", json=body, headers=orch)).status_code == 201
        r = await client.get("/api/orchestrators/h1/directories")
        assert r.status_code == 200 and r.json()["base"] == "/b"
        assert seen == ["Bearer dir-secret-1"]
        # Nobody reads it back: not the listing, the record, nor the event stream's copy of it.
        for path in ("/api/orchestrators", "/api/orchestrators/h1"):
            assert "dir-secret-1" not in (await client.get(path)).text
        # Re-registering without one drops it (an orchestrator restarted without its API token).
        body.pop("apiToken")
        assert (await client.post("/api/orchestrators", json=body, headers=orch)).status_code == 200
        assert (await client.get("/api/orchestrators/h1/directories")).status_code == 200
        assert seen == ["Bearer dir-secret-1", None]
