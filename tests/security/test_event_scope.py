"""What a token's event stream carries (relay_api/event_scope.py): the areas it may read and, for
agent and orchestrator tokens, only events about their own agents — never another's mail or command
params. The filter is tested directly; a real node checks the streams end to end (SSE needs a real
server), including integration streams counted under their own cap."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from redis.asyncio import Redis

from relay_api.auth import Principal
from relay_api.event_scope import StreamScope, stream_filter
from relay_api.scopes import role_scopes
from relay_api.token_auth import ADMIN_SUBJECT, stream_subject
from relay_model.events import Event
from tests.conftest import ADMIN_TOKEN
from tests.procs import ApiNode, api_nodes, relay_env
from tests.security.conftest import TOKEN_SECRET, bearer
from tests.sse_client import SSE


def _principal(role: str, sub: str) -> Principal:
    return Principal(role=role, sub=sub, scopes=role_scopes(role), jti="j")


def _event(type_: str, source: str, subject: str, data: object) -> Event:
    return Event("bus", "1-1", type_, source, subject, msgspec.json.encode(data).decode())


def _message(frm: str, to: str, body: str) -> Event:
    return _event("message.created", frm, "7", {"message": {"id": 7, "from": frm, "to": to, "body": body}})


def _command(source: str, target: str) -> Event:
    return _event("command.requested", source, "cmd_1", {"command": {"source": source, "target": target}})


def _card(type_: str, agent_id: str, orchestrator_id: str | None) -> Event:
    return _event(type_, agent_id, agent_id, {"agent": {"id": agent_id, "orchestratorId": orchestrator_id}})


def test_an_agent_stream_carries_only_its_own_mail_and_commands() -> None:
    accepts = stream_filter(_principal("agent", "me"), [], StreamScope(agents={"me"}), None)
    assert accepts(_message("third", "me", "hi"))
    assert accepts(_message("me", "third", "hi"))
    assert accepts(_message("third", "broadcast", "all"))
    # Another agent's mail, even when its body or payload is exactly this agent's id.
    assert not accepts(_message("third", "other", "me"))
    assert not accepts(_message("third", "tag:crew", "x"))
    assert accepts(_command("third", "me"))
    assert not accepts(_command("third", "other"))
    assert not accepts(_event("command.requested", "x", "c", {"command": {"source": "a", "target": "b", "p": "me"}}))
    # Other events: about the agent when they name it.
    assert accepts(_card("agent.status", "me", None))
    assert not accepts(_card("agent.status", "other", None))
    assert accepts(_event("pair.requested", "other", "3", {"pair": {"from": "other", "to": "me"}}))
    # No automations scope: automation events never reach an agent, whatever they name.
    assert not accepts(_event("automation.run", "server", "r", {"message": {"from": "system", "to": "me"}}))


def test_an_orchestrator_stream_follows_the_agents_it_manages() -> None:
    own = frozenset({"o1", "orchestrator:o1"})
    scope = StreamScope(agents={*own, "w1"}, manager="o1", fixed=own)
    accepts = stream_filter(_principal("orchestrator", "o1"), ["message.*", "command.*"], scope, None)
    assert accepts(_command("system", "orchestrator:o1"))
    assert accepts(_command("system", "w1"))
    assert accepts(_message("third", "w1", "for w1"))
    assert not accepts(_message("third", "other", "secret"))
    assert not accepts(_command("system", "orchestrator:o2"))
    assert not accepts(_message("third", "w2", "x"))
    # A card registered with its orchestratorId joins (the event itself is filtered out by `types`) ...
    assert not accepts(_card("agent.registered", "w2", "o1"))
    assert accepts(_message("third", "w2", "now mine"))
    # ... and leaves when removed or handed to another orchestrator.
    accepts(_card("agent.removed", "w2", "o1"))
    assert not accepts(_message("third", "w2", "gone"))
    accepts(_card("agent.registered", "w1", "o2"))
    assert not accepts(_command("system", "w1"))
    # Its own card is never dropped.
    accepts(_card("agent.removed", "orchestrator:o1", "o1"))
    assert accepts(_command("system", "orchestrator:o1"))


def test_areas_a_token_cannot_read_never_reach_its_stream() -> None:
    integration = Principal(role="integration", sub="alerts", scopes=role_scopes("integration"))
    accepts = stream_filter(integration, [], None, None)
    assert not accepts(_message("third", "other", "secret"))
    assert not accepts(_command("third", "other"))
    assert accepts(_event("task.created", "alerts", "1", {"task": {"id": 1}}))
    viewer = stream_filter(_principal("viewer", "v"), [], None, None)
    assert viewer(_message("third", "other", "x")) and viewer(_command("a", "b"))
    # A narrowed token: its own `scope` claim counts too.
    narrow = Principal(role="operator", sub="op", scopes=role_scopes("operator"), narrow=frozenset({"events:read"}))
    assert not stream_filter(narrow, [], None, None)(_message("a", "b", "x"))


def test_integration_streams_are_counted_under_the_integration() -> None:
    assert stream_subject(Principal(role="integration", sub="alerts")) == "integration:alerts"
    assert stream_subject(Principal(role="admin", sub="admin")) == ADMIN_SUBJECT


INTEGRATION_TOKEN = "integration-token-0123456789"


@pytest.fixture
def node(redis: Redis, redis_url: str, tmp_path: Path) -> Iterator[ApiNode]:
    integrations = [{"name": "alerts", "token": INTEGRATION_TOKEN, "scopes": ["tasks:write", "events:read"]}]
    env = relay_env(
        redis_url,
        ADMIN_TOKEN,
        AGENT_RELAY_TOKEN_SECRET=TOKEN_SECRET,
        AGENT_RELAY_SSE_MAX_PER_TOKEN="1",
        AGENT_RELAY_INTEGRATIONS=json.dumps(integrations),
    )
    with api_nodes(1, env, tmp_path) as nodes:
        yield nodes[0]


def _spawn(target: str) -> dict[str, str]:
    return {"type": "agent.spawn", "source": "system", "target": target}


def _stream(node: ApiNode, token: str, **params: str) -> SSE:
    sse = SSE(node.url, params=params)
    sse.headers = bearer(token)
    return sse


@pytest.mark.multinode
async def test_streams_end_to_end(node: ApiNode) -> None:
    admin = bearer(ADMIN_TOKEN)
    async with httpx.AsyncClient(base_url=node.url, headers=admin, timeout=10) as http:
        for body in ({"id": "o1", "hostname": "h"}, {"id": "o2", "hostname": "h"}):
            assert (await http.post("/api/orchestrators", json=body)).status_code == 201
        for body in ({"id": "w1", "orchestratorId": "o1"}, {"id": "other"}, {"id": "third"}):
            assert (await http.post("/api/agents", json=body)).status_code == 201
        orch = (await http.post("/api/tokens", json={"role": "orchestrator", "sub": "o1"})).json()["token"]
        agent = (await http.post("/api/tokens", json={"role": "agent", "sub": "other"})).json()["token"]
        types = "message.created,command.requested"
        async with (
            _stream(node, orch, types=types) as orch_events,
            _stream(node, agent, types=types) as agent_events,
            _stream(node, ADMIN_TOKEN, types=types) as admin_events,
            _stream(node, INTEGRATION_TOKEN) as integration_events,
        ):
            # The admin's and the integration's streams each hold their own one allowed lease.
            await http.post("/api/messages", json={"from": "third", "to": "other", "body": "secret for other"})
            await http.post("/api/commands", json=_spawn("orchestrator:o2"))
            await http.post("/api/messages", json={"from": "third", "to": "w1", "body": "for w1"})
            await http.post("/api/commands", json=_spawn("orchestrator:o1"))
            seen = [e.json["data"] for e in await admin_events.events(4)]
            addressed = [d["message"]["to"] if "message" in d else d["command"]["target"] for d in seen]
            assert addressed == ["other", "orchestrator:o2", "w1", "orchestrator:o1"]
            mine = [e.json["data"] for e in await orch_events.events(2)]
            assert mine[0]["message"]["body"] == "for w1" and mine[1]["command"]["target"] == "orchestrator:o1"
            assert (await agent_events.next_event()).json["data"]["message"]["body"] == "secret for other"
            # Nothing else arrives: not the other orchestrator's spawn, not others' mail.
            later = await asyncio.gather(orch_events.quiet_for(0.5), agent_events.quiet_for(0.5))
            assert later == [[], []]
            # The integration saw neither mail nor commands (no messages:read / commands:read).
            assert await integration_events.quiet_for(0.5) == []
