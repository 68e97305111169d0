"""Recipes run end to end on a real `relay orchestrator` with real agent processes (the echo agent as the
`claude` and `codex` providers' command, driven through the claude and codex adapters: prompts are
pasted into tmux panes and answered through `relay mcp`).

Each test starts the recipe exactly as the original's clients do and makes no other request that
changes anything: what happens after is the orchestrator's doing. Afterwards every spawned process
and tmux session is gone and every token minted for an agent is revoked.
"""

from __future__ import annotations

import sys
from typing import Any

import httpx
import pytest

from relay_client import Client
from relay_client.models import Command, RecipeInstance
from tests.conftest import AUTH
from tests.orchestrator.conftest import Host, needs_tmux, pid_alive, wait_for

pytestmark = pytest.mark.multinode

ROLES = {"correctness": "claude", "security": "codex", "lead": "claude"}


def start_code_review(host: Host) -> str:
    body = {"name": "code-review", "cwd": str(host.base / "proj"), "orchestratorId": "h1"}
    r = httpx.post(f"{host.url}/api/recipes/start", json=body, headers=AUTH, timeout=10)
    assert r.status_code == 202, r.text
    return str(r.json()["instance"]["id"])


def finished(admin: Client, instance_id: str) -> RecipeInstance:
    return wait_for(
        "the recipe to end",
        lambda: (i := admin.recipes.instance(instance_id)).status != "running" and i,
        timeout=120,
    )


def step_commands(admin: Client, instance: RecipeInstance) -> dict[str, Command]:
    return {s.id: admin.commands.get(s.command_ids[-1]) for s in instance.steps if s.command_ids}


def assert_nothing_left(host: Host, admin: Client, spawned: dict[str, dict[str, Any]]) -> None:
    """No process, no tmux session, no live agent token, every card offline, an empty state file."""
    for result in spawned.values():
        assert not pid_alive(result["pid"]), result
    assert host.tmux_sessions() == []
    agent_tokens = [t for t in admin.tokens.list() if t.role == "agent"]
    assert sorted(t.sub for t in agent_tokens) == sorted(spawned)
    assert all(t.revoked_at is not None for t in agent_tokens), agent_tokens
    assert all(t.created_by == "orchestrator:h1" for t in agent_tokens)
    for agent_id in spawned:
        assert admin.agents.get(agent_id).status == "offline"
    state = host.state()
    assert state["agents"] == {} and state["commands"] == {}


def spawned_agents(commands: dict[str, Command]) -> dict[str, dict[str, Any]]:
    return {c.result["agentId"]: c.result for c in commands.values() if c.type == "agent.spawn" and c.result}


def test_code_review_runs_to_success_with_real_processes(host: Host, admin: Client) -> None:
    needs_tmux()
    host.start()
    instance = finished(admin, start_code_review(host))
    assert instance.status == "succeeded", instance
    assert all(s.status == "succeeded" for s in instance.steps), instance.steps
    commands = step_commands(admin, instance)
    spawned = spawned_agents(commands)
    assert sorted(spawned) == sorted(f"code-review-{role}-{instance.id[-8:]}" for role in ROLES)

    for role, provider in ROLES.items():
        agent_id = f"code-review-{role}-{instance.id[-8:]}"
        result = spawned[agent_id]
        # Each agent ran in its own tmux session named <tmuxPrefix><agentId>.
        assert result["session"] == f"relay-{provider}{agent_id}" and result["provider"] == provider
        card = admin.agents.get(agent_id)
        assert card.meta["runnerManaged"] is True and card.meta["orchestratorId"] == "h1"
        assert card.orchestrator_id == "h1" and card.provider == provider
    # Both claude agents answered through `relay mcp` (its session took over their cards).
    for role in ("correctness", "lead"):
        assert (admin.agents.get(f"code-review-{role}-{instance.id[-8:]}").session_id or "").startswith("mcp-")

    correctness = commands["review-correctness"].result or {}
    assert correctness["via"] == "terminal"
    assert correctness["answer"].startswith(
        "echo: Review the working tree's uncommitted changes and its most recent commit. Focus: correctness"
    )
    argv = correctness["argv"]
    # The claude adapter's command line: relay mcp as MCP server, its tools allowed, read-only = plan.
    assert "--mcp-config" in argv and argv[argv.index("--allowedTools") + 1] == "mcp__agent-relay"
    assert argv[argv.index("--permission-mode") + 1] == "plan"
    security = (commands["review-security"].result or {})["argv"]
    assert f'mcp_servers.agent-relay.command="{sys.executable}"' in security
    assert 'mcp_servers.agent-relay.env_vars=["AGENT_RELAY_URL", "AGENT_RELAY_TOKEN", "AGENT_RELAY_AGENT_ID"]' in security
    assert security[security.index("--sandbox") + 1] == "read-only"
    assert (commands["summarize"].result or {})["answer"].startswith("echo: Merge the findings")
    for step in ("shutdown-correctness", "shutdown-security", "shutdown-lead"):
        assert (commands[step].result or {})["exit"] == "exited with code 0"
    assert_nothing_left(host, admin, spawned)
    shut = [a for a in admin.activity.list(limit=100) if a.title == "Agent shut down"]
    assert sorted(a.agent_id or "" for a in shut) == sorted(spawned)


def test_orchestrator_killed_mid_recipe_and_started_again_finishes_it(host: Host, admin: Client) -> None:
    needs_tmux()
    first = host.start()
    instance_id = start_code_review(host)
    running = wait_for(
        "the first agents to run",
        lambda: (i := admin.recipes.instance(instance_id))
        and {s.id: s.status for s in i.steps}["spawn-correctness"] == "succeeded"
        and i,
    )
    assert running.status == "running"
    first.kill()  # SIGKILL: no chance to tidy up
    survivors = host.state()["agents"]
    assert survivors and all(pid_alive(a["pid"]) for a in survivors.values() if a["status"] == "running")

    second = host.start()
    instance = finished(admin, instance_id)
    assert instance.status == "succeeded", instance
    assert "adopted agent" in second.log()
    spawned = spawned_agents(step_commands(admin, instance))
    assert len(spawned) == 3
    assert_nothing_left(host, admin, spawned)


def test_recipe_stopped_midway_leaves_no_process_behind(host: Host, admin: Client) -> None:
    needs_tmux()
    host.start()
    instance_id = start_code_review(host)
    wait_for(
        "both reviewers to run",
        lambda: {s.id: s.status for s in admin.recipes.instance(instance_id).steps}["spawn-security"] == "succeeded"
        and {s.id: s.status for s in admin.recipes.instance(instance_id).steps}["spawn-correctness"] == "succeeded",
    )
    stopped = admin.recipes.stop(instance_id, stopped_by="test")
    assert stopped.instance.status == "stopped"
    spawned = spawned_agents(step_commands(admin, stopped.instance))
    assert len(spawned) == 2
    # Its agents shut down, and the prompts it canceled dropped (one may still have been on its way).
    wait_for("the stopped recipe's agents to be shut down", lambda: host.state()["agents"] == {})
    wait_for("the canceled prompts to be let go", lambda: host.state()["commands"] == {})
    assert_nothing_left(host, admin, spawned)
    assert admin.recipes.instance(instance_id).status == "stopped"
