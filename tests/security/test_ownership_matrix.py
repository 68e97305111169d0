"""Role-by-route matrix for the ownership rules beyond the scope table (README "Ownership").

Every row runs in the same world, restored before each row: agents `me` (the agent token's), `other`, `third`; orchestrators
`o1` (the orchestrator token's) and `o2`, each managing one agent (`w1`, `w2`); commands, tasks and
messages between them. A refused row must answer the exact status and text and change nothing the
admin can see (commands, tasks, messages, activity); an allowed row answers its status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from tests.security.conftest import Mint, bearer

Client = AsyncTestClient  # type: ignore[type-arg]


@dataclass
class World:
    ids: dict[str, Any]
    tokens: dict[str, dict[str, str]]


async def _world(client: Client, mint: Mint) -> World:
    for agent in ("me", "other", "third"):
        assert (await client.post("/api/agents", json={"id": agent})).status_code == 201
    for orch in ("o1", "o2"):
        assert (await client.post("/api/orchestrators", json={"id": orch, "hostname": "h"})).status_code == 201
    for agent, orch in (("w1", "o1"), ("w2", "o2")):
        r = await client.post("/api/agents", json={"id": agent, "orchestratorId": orch})
        assert r.status_code == 201

    async def command(source: str, target: str, type_: str = "x.do") -> str:
        body = {"type": type_, "source": source, "target": target, "params": {"prompt": f"secret of {target}"}}
        r = await client.post("/api/commands", json=body)
        assert r.status_code == 201
        return str(r.json()["id"])

    async def task(claimant: str | None = None, final: str | None = None) -> int:
        task_id = int((await client.post("/api/tasks", json={"title": "t"})).json()["id"])
        if claimant:
            assert (await client.post(f"/api/tasks/{task_id}/claim", json={"agentId": claimant})).status_code == 200
        if final:
            r = await client.patch(f"/api/tasks/{task_id}/status", json={"status": final, "agentId": claimant})
            assert r.status_code == 200
        return task_id

    async def message(frm: str, to: str, key: str) -> int:
        body = {"from": frm, "to": to, "body": f"secret for {to}", "idempotencyKey": key}
        return int((await client.post("/api/messages", json=body)).json()["id"])

    ids: dict[str, Any] = {
        "to_me": await command("third", "me"),
        "from_me": await command("me", "other", "x.ask"),
        "others": await command("third", "other"),
        "to_w1": await command("third", "w1", "agent.prompt"),
        "to_w2": await command("third", "w2", "agent.prompt"),
        "t_other": await task("other"),
        "t_mine": await task("me"),
        "t_free": await task(),
        "t_done_other": await task("other", "done"),
        "m_other": await message("third", "other", "k-other"),
        "m_w1": await message("third", "w1", "k-w1"),
    }
    tokens = {
        "agent": bearer(await mint("agent", sub="me")),
        "orch": bearer(await mint("orchestrator", sub="o1")),
        "operator": bearer(await mint("operator")),
        "viewer": bearer(await mint("viewer")),
    }
    return World(ids, tokens)


async def _snapshot(client: Client) -> list[Any]:
    """What the admin sees of every area a row could change."""
    commands = (await client.get("/api/commands?limit=500")).json()
    tasks = (await client.get("/api/tasks?limit=500")).json()
    messages = (await client.get("/api/messages?limit=500")).json()
    activity = (await client.get("/api/activity?limit=500")).json()
    return [
        sorted((c["id"], c["status"], c["target"]) for c in commands),
        sorted((t["id"], t["status"], t["claimedBy"]) for t in tasks),
        [m["id"] for m in messages],
        [a["id"] for a in activity],
    ]


AGENT_ME = 'agent token for "me" cannot act as agent "{}"'
ORCH_O1 = 'orchestrator token for "o1" cannot act as agent "{}": not one it manages'


def cmd(type_: str, source: str, target: str) -> dict[str, Any]:
    return {"type": type_, "source": source, "target": target}


# (role, method, path, body, status, error text or None). Paths and bodies name ids of the world.
ROWS: list[tuple[str, str, str, Any, int, str | None]] = [
    # --- Security 1: raw commands follow the control routes' ownership (COMMAND_RULES) ---
    ("agent", "POST", "/api/commands", cmd("agent.spawn", "me", "orchestrator:o2"), 403,
     "agent tokens cannot create agent.spawn commands"),
    ("agent", "POST", "/api/commands", cmd("agent.spawn", "me", "orchestrator:o1"), 403,
     "agent tokens cannot create agent.spawn commands"),
    ("agent", "POST", "/api/commands", cmd("agent.restart", "me", "other"), 403, AGENT_ME.format("other")),
    ("agent", "POST", "/api/commands", cmd("agent.shutdown", "me", "w1"), 403, AGENT_ME.format("w1")),
    ("agent", "POST", "/api/commands", cmd("agent.prompt", "me", "other"), 403, AGENT_ME.format("other")),
    ("agent", "POST", "/api/commands", cmd("agent.restart", "me", "orchestrator:o1"), 403,
     AGENT_ME.format("orchestrator:o1")),
    ("agent", "POST", "/api/commands", cmd("connector.install", "me", "orchestrator:o1"), 403,
     "agent tokens cannot create connector.install commands"),
    ("agent", "POST", "/api/commands", cmd("provider.test", "me", "orchestrator:o1"), 403,
     "agent tokens cannot create provider.test commands"),
    ("agent", "POST", "/api/commands", cmd("x.ask", "other", "third"), 403, AGENT_ME.format("other")),
    ("agent", "POST", "/api/commands", cmd("agent.restart", "me", "me"), 201, None),
    ("agent", "POST", "/api/commands", cmd("x.ask", "me", "other"), 201, None),
    ("orch", "POST", "/api/commands", cmd("agent.spawn", "orchestrator:o1", "orchestrator:o2"), 403,
     'orchestrator token for "o1" may send agent.spawn only to its own orchestrator agent "orchestrator:o1"'),
    ("orch", "POST", "/api/commands", cmd("agent.spawn", "w1", "orchestrator:o2"), 403,
     'orchestrator token for "o1" may send agent.spawn only to its own orchestrator agent "orchestrator:o1"'),
    ("orch", "POST", "/api/commands", cmd("agent.restart", "orchestrator:o1", "w2"), 403, ORCH_O1.format("w2")),
    ("orch", "POST", "/api/commands", cmd("agent.restart", "orchestrator:o1", "other"), 403, ORCH_O1.format("other")),
    ("orch", "POST", "/api/commands", cmd("connector.start", "orchestrator:o1", "orchestrator:o1"), 403,
     "orchestrator tokens cannot create connector.start commands"),
    ("orch", "POST", "/api/commands", cmd("agent.spawn", "orchestrator:o1", "orchestrator:o1"), 201, None),
    ("orch", "POST", "/api/commands", cmd("agent.restart", "orchestrator:o1", "w1"), 201, None),
    ("operator", "POST", "/api/commands", cmd("agent.spawn", "system", "orchestrator:o2"), 201, None),
    ("operator", "POST", "/api/commands", cmd("agent.restart", "system", "other"), 201, None),
    # The orchestrator's own actions route: `agentId` must be one of its agents.
    ("orch", "POST", "/api/orchestrators/o1/actions", {"action": "restart", "agentId": "other"}, 403,
     ORCH_O1.format("other")),
    ("orch", "POST", "/api/orchestrators/o1/actions", {"action": "restart", "agentId": "w2"}, 403,
     ORCH_O1.format("w2")),
    ("orch", "POST", "/api/orchestrators/o1/actions", {"action": "restart", "agentId": "w1"}, 202, None),
    # --- Security 1: reporting on a command is its target's; its source may only cancel it ---
    ("agent", "PATCH", "/api/commands/{to_me}", {"status": "succeeded"}, 200, None),
    ("agent", "PATCH", "/api/commands/{from_me}", {"status": "succeeded"}, 403,
     'agent token for "me" cannot report on command {from_me}: it is addressed to "other" '
     "(its source may only cancel it)"),
    ("agent", "PATCH", "/api/commands/{from_me}", {"status": "running", "result": {"x": 1}}, 403,
     'agent token for "me" cannot report on command {from_me}: it is addressed to "other" '
     "(its source may only cancel it)"),
    ("agent", "PATCH", "/api/commands/{from_me}", {"status": "canceled"}, 200, None),
    ("agent", "DELETE", "/api/commands/{from_me}", None, 200, None),
    ("agent", "PATCH", "/api/commands/{others}", {"status": "running"}, 403,
     'agent token for "me" cannot report on command {others}: it is addressed to "other"'),
    ("orch", "PATCH", "/api/commands/{to_w1}", {"status": "succeeded"}, 200, None),
    ("orch", "PATCH", "/api/commands/{to_w2}", {"status": "succeeded"}, 403,
     'orchestrator token for "o1" cannot report on command {to_w2}: it is addressed to "w2"'),
    ("operator", "PATCH", "/api/commands/{others}", {"status": "succeeded"}, 200, None),
    # --- Security 8: command params and orchestrator directories ---
    ("agent", "GET", "/api/commands/{others}", None, 403, 'agent token for "me" cannot read command {others}'),
    ("agent", "GET", "/api/commands/{to_w1}", None, 403, 'agent token for "me" cannot read command {to_w1}'),
    ("agent", "GET", "/api/commands/{to_me}", None, 200, None),
    ("agent", "GET", "/api/commands/{from_me}", None, 200, None),
    ("agent", "GET", "/api/commands", None, 403, 'agent token for "me" may list commands only with target=me'),
    ("agent", "GET", "/api/commands?target=other", None, 403,
     'agent token for "me" may list commands only with target=me'),
    ("agent", "GET", "/api/commands?target=me&status=pending", None, 200, None),
    ("orch", "GET", "/api/commands?target=w2", None, 403,
     'orchestrator token for "o1" may list commands only with target= an agent it acts as'),
    ("orch", "GET", "/api/commands?target=w1", None, 200, None),
    ("orch", "GET", "/api/commands/{to_w2}", None, 403, 'orchestrator token for "o1" cannot read command {to_w2}'),
    ("viewer", "GET", "/api/commands/{others}", None, 200, None),
    ("agent", "GET", "/api/orchestrators/o1/directories", None, 403, "agent tokens cannot act on orchestrators"),
    ("orch", "GET", "/api/orchestrators/o2/directories", None, 403,
     'orchestrator token for "o1" cannot act as orchestrator "o2"'),
    ("orch", "GET", "/api/orchestrators/o1/directories", None, 422, "orchestrator does not expose an API"),
    ("viewer", "GET", "/api/orchestrators/o2/directories", None, 422, "orchestrator does not expose an API"),
    # --- Security 2: a task's status is its claimant's (or an operator's) to change ---
    ("agent", "PATCH", "/api/tasks/{t_other}/status", {"status": "done"}, 409, "task is claimed by other"),
    ("agent", "PATCH", "/api/tasks/{t_other}/status", {"status": "open"}, 409, "task is claimed by other"),
    ("agent", "PATCH", "/api/tasks/{t_done_other}/status", {"status": "open"}, 403,
     "task {t_done_other} is claimed by other: only its claimant or an operator may change its status"),
    ("agent", "PATCH", "/api/tasks/{t_done_other}/status", {"status": "in_progress"}, 403,
     "task {t_done_other} is claimed by other: only its claimant or an operator may change its status"),
    ("agent", "PATCH", "/api/tasks/{t_free}/status", {"status": "done"}, 403,
     "task {t_free} is not claimed by me: claim it before setting it done"),
    ("agent", "PATCH", "/api/tasks/{t_free}/status", {"status": "in_progress"}, 200, None),
    ("agent", "PATCH", "/api/tasks/{t_mine}/status", {"status": "done"}, 200, None),
    ("agent", "PATCH", "/api/tasks/{t_mine}/status", {"status": "open"}, 200, None),
    ("orch", "PATCH", "/api/tasks/{t_other}/status", {"status": "open"}, 403,
     "orchestrator tokens must name the agentId that changes the task"),
    ("orch", "PATCH", "/api/tasks/{t_done_other}/status", {"status": "open", "agentId": "w1"}, 403,
     "task {t_done_other} is claimed by other: only its claimant or an operator may change its status"),
    ("operator", "PATCH", "/api/tasks/{t_other}/status", {"status": "open"}, 200, None),
    ("operator", "PATCH", "/api/tasks/{t_done_other}/status", {"status": "open"}, 200, None),
    # --- Security 4: orchestrator tokens read only their agents' mail ---
    ("orch", "GET", "/api/messages?to=other", None, 403,
     'orchestrator token for "o1" may read history only with from= or to= an agent it acts as'),
    ("orch", "GET", "/api/messages?channel=x", None, 403,
     'orchestrator token for "o1" may read history only with from= or to= an agent it acts as'),
    ("orch", "GET", "/api/messages?for=other", None, 403, ORCH_O1.format("other")),
    ("orch", "GET", "/api/messages/{m_other}", None, 403, 'orchestrator token for "o1" cannot read message {m_other}'),
    ("orch", "POST", "/api/messages", {"from": "w1", "to": "third", "body": "x", "idempotencyKey": "k-other"}, 403,
     'orchestrator token for "o1" cannot read message {m_other}'),
    ("orch", "GET", "/api/messages?to=w1", None, 200, None),
    ("orch", "GET", "/api/messages/{m_w1}", None, 200, None),
    ("orch", "POST", "/api/messages", {"from": "w1", "to": "third", "body": "x", "idempotencyKey": "k-w1"}, 200, None),
    ("agent", "GET", "/api/messages?to=other", None, 403,
     'agent token for "me" may read history only with from=me or to=me'),
    # --- Security 7: records an agent may not forge ---
    ("agent", "POST", "/api/messages", {"from": "me", "to": "broadcast", "kind": "system", "body": "x"}, 403,
     "agent tokens cannot send system messages"),
    ("agent", "POST", "/api/messages", {"from": "me", "to": "other", "kind": "system", "body": "x"}, 403,
     "agent tokens cannot send system messages"),
    ("orch", "POST", "/api/messages", {"from": "w1", "to": "broadcast", "kind": "system", "body": "x"}, 403,
     "orchestrator tokens cannot send system messages"),
    ("operator", "POST", "/api/messages", {"from": "system", "to": "broadcast", "kind": "system", "body": "x"}, 201,
     None),
    ("agent", "POST", "/api/messages", {"from": "me", "to": "broadcast", "body": "hi all"}, 201, None),
    ("agent", "POST", "/api/tasks", {"title": "t", "source": "system"}, 403, AGENT_ME.format("system")),
    ("orch", "POST", "/api/tasks", {"title": "t", "source": "other"}, 403, ORCH_O1.format("other")),
    ("agent", "POST", "/api/tasks", {"title": "t"}, 201, None),
    ("operator", "POST", "/api/tasks", {"title": "t", "source": "system"}, 201, None),
    ("agent", "POST", "/api/activity", {"kind": "state", "title": "x", "agentId": "other"}, 403,
     AGENT_ME.format("other")),
    ("agent", "POST", "/api/activity", {"kind": "operator", "title": "x"}, 403,
     "agent tokens cannot record operator entries"),
    ("agent", "POST", "/api/activity", {"kind": "state", "title": "x", "clientId": "server-system-broadcast-9"}, 403,
     'clientId prefix "server-" is reserved for the relay\'s own entries'),
    ("orch", "POST", "/api/activity", {"kind": "state", "title": "x", "agentId": "w2"}, 403, ORCH_O1.format("w2")),
    ("agent", "POST", "/api/activity", {"kind": "state", "title": "x"}, 201, None),
    ("operator", "POST", "/api/activity", {"kind": "operator", "title": "x"}, 201, None),
]


async def _save(redis: Redis) -> list[tuple[bytes, bytes, int]]:
    keys = sorted(await redis.keys("*"))
    pipe = redis.pipeline(transaction=False)
    for key in keys:
        pipe.dump(key)
        pipe.pttl(key)
    values = await pipe.execute()
    return [(k, values[2 * i], max(0, values[2 * i + 1])) for i, k in enumerate(keys)]


async def _restore(redis: Redis, saved: list[tuple[bytes, bytes, int]]) -> None:
    pipe = redis.pipeline(transaction=True)
    pipe.flushdb()
    for key, value, ttl in saved:
        pipe.restore(key, ttl, value, replace=True)
    await pipe.execute()


async def test_role_route_matrix(client: Client, mint: Mint, redis_url: str) -> None:
    """Every row on the same world, restored between rows (building it once keeps this fast)."""
    world = await _world(client, mint)
    raw = Redis.from_url(redis_url)  # DUMP/RESTORE values are bytes
    saved = await _save(raw)
    before = await _snapshot(client)
    failures: list[str] = []
    for role, method, path, body, status, text in ROWS:
        await _restore(raw, saved)
        r = await client.request(method, path.format(**world.ids), json=body, headers=world.tokens[role])
        row = f"{role} {method} {path} {body}"
        if text is not None and (r.status_code, r.json()) != (status, {"error": text.format(**world.ids)}):
            failures.append(f"{row}: {r.status_code} {r.text}")
        elif r.status_code != status:
            failures.append(f"{row}: {r.status_code} {r.text}")
        elif status >= 400 and await _snapshot(client) != before:
            failures.append(f"{row}: refused, but the state changed")
    await raw.aclose()
    assert not failures, "\n".join(failures)


async def test_identity_fields_default_to_the_caller(client: Client, mint: Mint) -> None:
    world = await _world(client, mint)
    agent, orch = world.tokens["agent"], world.tokens["orch"]
    task = (await client.post("/api/tasks", json={"title": "mine"}, headers=agent)).json()
    assert task["source"] == "me"
    task = (await client.post("/api/tasks", json={"title": "o"}, headers=orch)).json()
    assert task["source"] == "orchestrator:o1"
    entry = (await client.post("/api/activity", json={"kind": "state", "title": "x"}, headers=agent)).json()
    assert entry["agentId"] == "me"
    entry = (await client.post("/api/activity", json={"kind": "state", "title": "x"}, headers=orch)).json()
    assert entry["agentId"] == "orchestrator:o1"
    # Operators keep the seed's defaults.
    task = (await client.post("/api/tasks", json={"title": "op"}, headers=world.tokens["operator"])).json()
    assert task["source"] == "api"


async def test_an_agent_takes_a_free_task_and_reads_only_its_commands(client: Client, mint: Mint) -> None:
    world = await _world(client, mint)
    agent = world.tokens["agent"]
    r = await client.patch(f"/api/tasks/{world.ids['t_free']}/status", json={"status": "in_progress"}, headers=agent)
    assert r.json()["claimedBy"] == "me"
    queue = (await client.get("/api/commands?target=me", headers=agent)).json()
    assert [c["id"] for c in queue] == [world.ids["to_me"]]
    # The spawn prompts of others stay with the operator.
    assert (await client.get(f"/api/commands/{world.ids['others']}", headers=world.tokens["viewer"])).json()[
        "params"
    ] == {"prompt": "secret of other"}
