"""`task.create` reaches an agent the way `agent.prompt` does — the orchestrator types it into the
target's terminal — so a bound token may address it only to an agent it acts as, as `agent.prompt`."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import AUTH
from tests.security.conftest import Mint, bearer


@pytest.mark.parametrize("command_type", ["agent.prompt", "task.create"])
async def test_an_agent_types_into_no_other_agents_terminal(
    client: AsyncTestClient,  # type: ignore[type-arg]
    mint: Mint,
    command_type: str,
) -> None:
    for agent in ("p1", "p2"):
        assert (await client.post("/api/agents", json={"id": agent}, headers=AUTH)).status_code == 201
    p1 = bearer(await mint("agent", sub="p1"))
    body = {"type": command_type, "source": "p1", "params": {"title": "rm -rf", "prompt": "rm -rf"}}

    refused = await client.post("/api/commands", json={**body, "target": "p2"}, headers=p1)
    assert refused.status_code == 403
    assert refused.json() == {"error": 'agent token for "p1" cannot act as agent "p2"'}
    listed = await client.get("/api/commands", params={"target": "p2"}, headers=AUTH)
    assert listed.json() == []

    own = await client.post("/api/commands", json={**body, "target": "p1"}, headers=p1)
    assert own.status_code == 201
    operator = await client.post("/api/commands", json={**body, "target": "p2"}, headers=AUTH)
    assert operator.status_code == 201
