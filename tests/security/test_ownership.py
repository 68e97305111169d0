"""BOLA: an agent token acts only as its own agent; an orchestrator token as itself and its agents."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.security.conftest import Mint, bearer

MINE, OTHER = "me", "other"
REFUSED = f'agent token for "{MINE}" cannot act as agent "{OTHER}"'


async def _setup(client: AsyncTestClient) -> dict[str, int]:  # type: ignore[type-arg]
    """Agents `me` and `other`, a claimable message to `other`, one between others, one to `me`."""
    for agent in (MINE, OTHER, "third"):
        assert (await client.post("/api/agents", json={"id": agent})).status_code == 201
    to_other = await client.post("/api/messages", json={"from": "third", "to": OTHER, "body": "x", "claimable": True})
    to_me = await client.post("/api/messages", json={"from": "third", "to": MINE, "body": "y", "claimable": True})
    await client.post(f"/api/messages/{to_other.json()['id']}/claim", json={"agentId": OTHER})
    return {"other": to_other.json()["id"], "mine": to_me.json()["id"]}


# Every agent-scoped route, called by `me`'s token as `other`.
AS_OTHER: list[tuple[str, str, Any]] = [
    ("POST", "/api/agents", {"id": OTHER}),
    ("POST", f"/api/agents/{OTHER}/heartbeat", {}),
    ("PATCH", f"/api/agents/{OTHER}/status", {"status": "busy"}),
    ("PATCH", f"/api/agents/{OTHER}/label", {"label": "pwned"}),
    ("PATCH", f"/api/agents/{OTHER}/tags", {"tags": ["pwned"]}),
    ("POST", "/api/messages", {"from": OTHER, "to": "third", "body": "spoofed"}),
    ("GET", f"/api/messages?for={OTHER}", None),
    ("GET", f"/api/messages/cursor?agentId={OTHER}", None),
    ("POST", "/api/messages/cursor", {"agentId": OTHER, "cursor": 0, "rewind": True}),
    ("POST", "/api/messages/{other}/claim", {"agentId": OTHER}),
    ("POST", "/api/messages/{other}/release", {"agentId": OTHER}),
    ("POST", "/api/messages/{other}/read", {"agentId": OTHER}),
    ("GET", f"/api/events?agentId={OTHER}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), AS_OTHER, ids=[f"{m} {p}" for m, p, _ in AS_OTHER])
async def test_agent_token_cannot_act_as_another_agent(
    client: AsyncTestClient,  # type: ignore[type-arg]
    mint: Mint,
    method: str,
    path: str,
    body: Any,
) -> None:
    ids = await _setup(client)
    before = (await client.get(f"/api/agents/{OTHER}")).json()
    token = bearer(await mint("agent", sub=MINE))
    r = await client.request(method, path.format(**ids), json=body, headers=token)
    assert (r.status_code, r.json()) == (403, {"error": REFUSED})
    # Nothing changed for the other agent or its claim.
    assert (await client.get(f"/api/agents/{OTHER}")).json() == before
    assert (await client.get(f"/api/messages/{ids['other']}")).json()["claimedBy"] == OTHER
    assert [m["body"] for m in (await client.get("/api/messages?from=other")).json()] == []


async def test_agent_token_acts_as_itself(client: AsyncTestClient, mint: Mint) -> None:  # type: ignore[type-arg]
    ids = await _setup(client)
    token = bearer(await mint("agent", sub=MINE))
    calls: list[tuple[str, str, Any, int]] = [
        ("POST", "/api/agents", {"id": MINE, "name": "Me"}, 200),
        ("POST", f"/api/agents/{MINE}/heartbeat", {}, 200),
        ("PATCH", f"/api/agents/{MINE}/status", {"status": "busy"}, 200),
        ("PATCH", f"/api/agents/{MINE}/label", {"label": "mine"}, 200),
        ("PATCH", f"/api/agents/{MINE}/tags", {"tags": ["t"]}, 200),
        ("POST", "/api/messages", {"from": MINE, "to": "third", "body": "hello"}, 201),
        ("GET", f"/api/messages?for={MINE}", None, 200),
        ("GET", f"/api/messages?from={MINE}", None, 200),
        ("GET", f"/api/messages/cursor?agentId={MINE}", None, 200),
        ("POST", "/api/messages/cursor", {"agentId": MINE, "cursor": 1}, 200),
        ("POST", f"/api/messages/{ids['mine']}/claim", {"agentId": MINE}, 200),
        # Without agentId an agent token releases its own claim.
        ("POST", f"/api/messages/{ids['mine']}/release", {}, 200),
        ("POST", f"/api/messages/{ids['mine']}/read", {"agentId": MINE}, 200),
        ("GET", f"/api/messages/{ids['mine']}", None, 200),
        ("GET", "/api/agents", None, 200),
    ]
    for method, path, body, status in calls:
        r = await client.request(method, path, json=body, headers=token)
        assert r.status_code == status, (method, path, r.text)
    assert (await client.get(f"/api/agents/{MINE}")).json()["label"] == "mine"


async def test_agent_token_reads_only_its_side_of_history(client: AsyncTestClient, mint: Mint) -> None:  # type: ignore[type-arg]
    ids = await _setup(client)
    token = bearer(await mint("agent", sub=MINE))
    r = await client.get("/api/messages", headers=token)
    assert (r.status_code, r.json()) == (
        403,
        {"error": f'agent token for "{MINE}" may read history only with from={MINE} or to={MINE}'},
    )
    r = await client.get(f"/api/messages/{ids['other']}", headers=token)
    assert (r.status_code, r.json()) == (403, {"error": f'agent token for "{MINE}" cannot read message {ids["other"]}'})
    # A fan-out that reached its inbox is readable.
    await client.post("/api/agents", json={"id": MINE, "tags": ["crew"]})
    fan = (await client.post("/api/messages", json={"from": "third", "to": "tag:crew", "body": "all"})).json()
    assert (await client.get(f"/api/messages/{fan['id']}", headers=token)).status_code == 200


async def test_orchestrator_acts_for_the_agents_it_manages(client: AsyncTestClient, mint: Mint) -> None:  # type: ignore[type-arg]
    token = bearer(await mint("orchestrator", sub="orch-1"))
    await client.post("/api/agents", json={"id": "stranger"})
    await client.post("/api/agents", json={"id": "foreign", "orchestratorId": "orch-2"})
    # It may register agents it declares as its own, then act for them.
    r = await client.post("/api/agents", json={"id": "w1", "orchestratorId": "orch-1"}, headers=token)
    assert r.status_code == 201
    assert (await client.patch("/api/agents/w1/status", json={"status": "busy"}, headers=token)).status_code == 200
    r = await client.post("/api/messages", json={"from": "w1", "to": "user", "body": "done"}, headers=token)
    assert r.status_code == 201
    assert (await client.get("/api/messages?for=w1", headers=token)).status_code == 200
    refused = 'orchestrator token for "orch-1" cannot act as agent "{}": not one it manages'
    for agent in ("stranger", "foreign"):
        r = await client.patch(f"/api/agents/{agent}/label", json={"label": "x"}, headers=token)
        assert (r.status_code, r.json()) == (403, {"error": refused.format(agent)})
        # Nor can it take one over by re-registering it as its own.
        r = await client.post("/api/agents", json={"id": agent, "orchestratorId": "orch-1"}, headers=token)
        assert (r.status_code, r.json()) == (403, {"error": refused.format(agent)})
    r = await client.post("/api/messages", json={"from": "stranger", "to": "user", "body": "x"}, headers=token)
    assert r.status_code == 403
