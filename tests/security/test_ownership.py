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
    ("POST", "/api/activity", {"kind": "state", "title": "spoofed", "agentId": OTHER}),
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


async def test_agent_token_cannot_read_mail_through_a_reused_idempotency_key(
    client: AsyncTestClient,  # type: ignore[type-arg]
    mint: Mint,
) -> None:
    await _setup(client)
    secret = {"from": "third", "to": OTHER, "body": "secret", "idempotencyKey": "k-1"}
    first = (await client.post("/api/messages", json=secret)).json()
    token = bearer(await mint("agent", sub=MINE))
    r = await client.post(
        "/api/messages", json={"from": MINE, "to": "third", "body": "x", "idempotencyKey": "k-1"}, headers=token
    )
    assert (r.status_code, r.json()) == (403, {"error": f'agent token for "{MINE}" cannot read message {first["id"]}'})
    # Its own repeat still answers its first message (200), and nothing new was sent either time.
    mine = {"from": MINE, "to": "third", "body": "y", "idempotencyKey": "k-2"}
    sent = await client.post("/api/messages", json=mine, headers=token)
    again = await client.post("/api/messages", json=mine, headers=token)
    assert (sent.status_code, again.status_code, again.json()) == (201, 200, sent.json())
    assert [m["body"] for m in (await client.get(f"/api/messages?from={MINE}")).json()] == ["y"]


async def test_agent_token_claims_only_messages_it_may_read(client: AsyncTestClient, mint: Mint) -> None:  # type: ignore[type-arg]
    await _setup(client)
    other = (await client.post("/api/messages", json={"from": "third", "to": OTHER, "claimable": True})).json()
    token = bearer(await mint("agent", sub=MINE))
    r = await client.post(f"/api/messages/{other['id']}/claim", json={"agentId": MINE}, headers=token)
    assert (r.status_code, r.json()) == (403, {"error": f'agent token for "{MINE}" cannot read message {other["id"]}'})
    assert (await client.get(f"/api/messages/{other['id']}")).json()["claimedBy"] is None
    # A claimable fan-out that reached its inbox, and a broadcast, it may claim.
    await client.post("/api/agents", json={"id": MINE, "tags": ["crew"]})
    for to in ("tag:crew", "broadcast"):
        sent = (await client.post("/api/messages", json={"from": "third", "to": to, "claimable": True})).json()
        r = await client.post(f"/api/messages/{sent['id']}/claim", json={"agentId": MINE}, headers=token)
        assert (r.status_code, r.json()["message"]["claimedBy"]) == (200, MINE)
    r = await client.post("/api/messages/999999/claim", json={"agentId": MINE}, headers=token)
    assert (r.status_code, r.json()) == (404, {"error": "message not found"})


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


async def _setup_work(client: AsyncTestClient) -> dict[str, Any]:  # type: ignore[type-arg]
    """A task, a pending pair between `third` and `other`, and a command for `other`."""
    for agent in (MINE, OTHER, "third"):
        await client.post("/api/agents", json={"id": agent})
    task = (await client.post("/api/tasks", json={"title": "t"})).json()
    pair = (await client.post("/api/pairs", json={"from": "third", "to": OTHER})).json()
    command = (await client.post("/api/commands", json={"type": "x.do", "source": "third", "target": OTHER})).json()
    return {"task": task["id"], "pair": pair["id"], "command": command["id"]}


# Routes of the task, pair, command and agent-control areas that name the agent they act as.
WORK_AS_OTHER: list[tuple[str, str, Any]] = [
    ("POST", "/api/tasks/{task}/claim", {"agentId": OTHER}),
    ("PATCH", "/api/tasks/{task}/status", {"status": "in_progress", "agentId": OTHER}),
    ("POST", "/api/pairs", {"from": OTHER, "to": "third"}),
    ("POST", "/api/pairs/{pair}/accept", {"agentId": OTHER}),
    ("POST", "/api/pairs/{pair}/reject", {"agentId": OTHER}),
    ("POST", "/api/pairs/{pair}/end", {"agentId": OTHER}),
    ("POST", "/api/pairs/{pair}/messages", {"from": OTHER, "body": "spoofed"}),
    ("POST", "/api/commands", {"type": "x.do", "source": OTHER, "target": "third"}),
    ("PATCH", "/api/commands/{command}", {"status": "running"}),
    ("DELETE", "/api/commands/{command}", None),
    ("POST", f"/api/agents/{OTHER}/actions", {"action": "restart"}),
    ("GET", "/api/pairs/{pair}", None),
    ("GET", f"/api/pairs?agentId={OTHER}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WORK_AS_OTHER, ids=[f"{m} {p}" for m, p, _ in WORK_AS_OTHER])
async def test_agent_token_cannot_act_for_another_agent_on_work_routes(
    client: AsyncTestClient,  # type: ignore[type-arg]
    mint: Mint,
    method: str,
    path: str,
    body: Any,
) -> None:
    ids = await _setup_work(client)
    token = bearer(await mint("agent", sub=MINE))
    r = await client.request(method, path.format(**ids), json=body, headers=token)
    assert r.status_code == 403, r.text
    assert r.json()["error"].startswith(f'agent token for "{MINE}"')
    # The work is untouched.
    assert (await client.get(f"/api/tasks/{ids['task']}")).json()["status"] == "open"
    assert (await client.get(f"/api/pairs/{ids['pair']}")).json()["status"] == "pending"
    assert (await client.get(f"/api/commands/{ids['command']}")).json()["status"] == "pending"


async def test_agent_works_its_own_commands_and_tasks(client: AsyncTestClient, mint: Mint) -> None:  # type: ignore[type-arg]
    ids = await _setup_work(client)
    mine = (await client.post("/api/commands", json={"type": "x.do", "source": "third", "target": MINE})).json()
    token = bearer(await mint("agent", sub=MINE))
    r = await client.patch(f"/api/commands/{mine['id']}", json={"status": "running"}, headers=token)
    assert r.status_code == 200 and r.json()["status"] == "running"
    assert (
        await client.post(f"/api/tasks/{ids['task']}/claim", json={"agentId": MINE}, headers=token)
    ).status_code == 200
    r = await client.post("/api/commands", json={"type": "x.ask", "source": MINE, "target": "third"}, headers=token)
    assert r.status_code == 201


async def test_bound_tokens_cannot_spawn_through_any_orchestrator(client: AsyncTestClient, mint: Mint) -> None:  # type: ignore[type-arg]
    for role, sub in (("agent", MINE), ("orchestrator", "orch-1")):
        r = await client.post(
            "/api/agents/spawn", json={"provider": "codex"}, headers=bearer(await mint(role, sub=sub))
        )
        assert (r.status_code, r.json()) == (
            403,
            {"error": f"{role} tokens cannot spawn agents through any orchestrator"},
        )


async def test_orchestrator_token_acts_only_on_its_own_record(client: AsyncTestClient, mint: Mint) -> None:  # type: ignore[type-arg]
    token = bearer(await mint("orchestrator", sub="orch-1"))
    assert (await client.post("/api/orchestrators", json={"id": "orch-2", "hostname": "h"})).status_code == 201
    r = await client.post("/api/orchestrators", json={"id": "orch-1", "hostname": "h"}, headers=token)
    assert r.status_code == 201
    assert (await client.post("/api/orchestrators/orch-1/heartbeat", json={}, headers=token)).status_code == 200
    refused = {"error": 'orchestrator token for "orch-1" cannot act as orchestrator "orch-2"'}
    for method, path, body in (
        ("POST", "/api/orchestrators", {"id": "orch-2", "hostname": "evil"}),
        ("POST", "/api/orchestrators/orch-2/heartbeat", {}),
        ("PATCH", "/api/orchestrators/orch-2/agents", {"agents": []}),
        ("POST", "/api/orchestrators/orch-2/spawn", {"provider": "codex"}),
        ("POST", "/api/orchestrators/orch-2/actions", {"action": "restart"}),
    ):
        r = await client.request(method, path, json=body, headers=token)
        assert (r.status_code, r.json()) == (403, refused), (method, path)
    assert (await client.get("/api/orchestrators/orch-2")).json()["hostname"] == "h"
    # Its own agent card (`orchestrator:<id>`) is its own to speak for.
    r = await client.post(
        "/api/messages", json={"from": "orchestrator:orch-1", "to": "user", "body": "up"}, headers=token
    )
    assert r.status_code == 201


async def test_agent_token_reads_its_own_pairs_only(client: AsyncTestClient, mint: Mint) -> None:  # type: ignore[type-arg]
    ids = await _setup_work(client)
    mine = (await client.post("/api/pairs", json={"from": MINE, "to": "third"})).json()
    token = bearer(await mint("agent", sub=MINE))
    # Without agentId an agent token lists its own pairs; the pair between two others stays hidden.
    listed = (await client.get("/api/pairs", headers=token)).json()
    assert [p["id"] for p in listed] == [mine["id"]]
    assert (await client.get(f"/api/pairs/{mine['id']}", headers=token)).status_code == 200
    assert (await client.get(f"/api/pairs/{ids['pair']}", headers=token)).status_code == 403
    # Its own activity entries are fine.
    r = await client.post("/api/activity", json={"kind": "state", "title": "hi", "agentId": MINE}, headers=token)
    assert r.status_code == 201
