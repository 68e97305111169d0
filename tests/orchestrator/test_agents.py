"""One orchestrator's agents with real processes: spawn, exits, restart, shutdown, refusals, provider
tests, the directory API, and a relay restart under a running orchestrator."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest

from relay_client import Client, RelayError
from relay_client.models import Command
from tests.conftest import ADMIN_TOKEN
from tests.orchestrator.conftest import ECHO, Host, needs_tmux, node_env, pid_alive, wait_for
from tests.procs import ApiNode

pytestmark = pytest.mark.multinode


def final(admin: Client, command_id: str) -> Command:
    return wait_for(f"command {command_id} to end", lambda: (c := admin.commands.get(command_id)).final and c)


def spawn(admin: Client, host: Host, provider: str = "claude", **kw: str) -> Command:
    accepted = admin.orchestrators.spawn("h1", provider, cwd=str(host.base / "proj"), **kw)
    return final(admin, accepted.command.id)


def test_agent_killed_by_signal_goes_offline_at_once_with_how_it_ended(host: Host, admin: Client) -> None:
    needs_tmux()
    host.start()
    command = spawn(admin, host, label="solo")
    assert command.status == "succeeded", command
    result = command.result or {}
    agent_id, pid = result["agentId"], result["pid"]
    # Statuses went pending → accepted → running → succeeded.
    assert command.accepted_at and command.started_at and command.finished_at
    card = admin.agents.get(agent_id)
    assert (card.status, card.label, card.pid, card.meta["runnerManaged"]) == ("online", "solo", pid, True)
    assert host.tmux_sessions() == [result["session"]]

    os.kill(pid, signal.SIGKILL)
    # Agents only go stale after 10 minutes here: this `offline` is the orchestrator's report.
    wait_for("the card to go offline", lambda: admin.agents.get(agent_id).status == "offline", timeout=10)
    exits = wait_for(
        "the exit in the activity feed",
        lambda: [a for a in admin.activity.list(agent_id=agent_id) if a.title == "Agent exited"],
        timeout=10,
    )
    assert [(a.body, a.metadata["signal"], a.metadata["pid"]) for a in exits] == [
        ("killed by signal 9 (SIGKILL)", 9, pid)
    ]
    token = next(t for t in admin.tokens.list() if t.sub == agent_id)
    wait_for("its token to be revoked", lambda: admin.tokens.get(token.jti).revoked_at)
    wait_for("its tmux session to end", lambda: host.tmux_sessions() == [])
    assert host.state()["agents"][agent_id]["status"] == "exited"

    # The dashboard's restart brings it back: same id, a new process, a new token.
    before = admin.agents.get(agent_id).session_id
    restarted = final(admin, admin.agents.action(agent_id, "restart").command.id)
    assert restarted.status == "succeeded", restarted
    new_pid = (restarted.result or {})["pid"]
    assert new_pid != pid and pid_alive(new_pid) and admin.agents.get(agent_id).status == "online"
    live = [t for t in admin.tokens.list() if t.sub == agent_id and t.revoked_at is None]
    assert len(live) == 1 and live[0].jti != token.jti
    # Up once its relay mcp took the card over (a SIGTERM before that ends a Python still importing).
    wait_for(
        "the new process's MCP session",
        lambda: (sid := admin.agents.get(agent_id).session_id or "").startswith("mcp-") and sid != before,
    )

    down = final(admin, admin.agents.action(agent_id, "shutdown").command.id)
    assert down.status == "succeeded" and (down.result or {})["exit"] == "exited with code 0"
    assert not pid_alive(new_pid) and host.tmux_sessions() == []
    assert admin.agents.get(agent_id).status == "offline"
    assert all(t.revoked_at for t in admin.tokens.list() if t.sub == agent_id)
    assert agent_id not in host.state()["agents"]


def test_command_adapter_agent_takes_its_own_commands_as_a_child_process(host: Host, admin: Client) -> None:
    admin.providers.put("claude", {"command": ECHO[0], "defaultArgs": [*ECHO[1:], "--commands", "api"]})
    host.start("--no-tmux", "--adapter", "claude=command")
    command = spawn(admin, host)
    result = command.result or {}
    agent_id, pid = result["agentId"], result["pid"]
    assert "session" not in result and Path(result["log"]).is_file()

    prompt = admin.commands.create("agent.prompt", source="system", target=agent_id, params={"prompt": "hi there"})
    answered = final(admin, prompt.id)
    assert answered.status == "succeeded"
    assert {k: (answered.result or {})[k] for k in ("answer", "via", "agentId")} == {
        "answer": "echo: hi there",
        "via": "api",
        "agentId": agent_id,
    }
    assert "echo_agent " + agent_id + " (api) ready" in Path(result["log"]).read_text()

    # The orchestrator's own "restart everything" (no agentId) and "shut down everything".
    again = final(admin, admin.orchestrators.action("h1", "restart").command.id)
    assert again.status == "succeeded"
    assert [r["agentId"] for r in (again.result or {})["agents"]] == [agent_id]
    assert not pid_alive(pid)
    down = final(admin, admin.orchestrators.action("h1", "shutdown").command.id)
    assert down.status == "succeeded" and (down.result or {})["agents"][0]["stopped"] is True
    assert host.state()["agents"] == {}


def test_shutdown_escalates_to_sigkill_after_the_timeout(host: Host, admin: Client) -> None:
    admin.providers.put(
        "claude",
        {
            "command": ECHO[0],
            "defaultArgs": [*ECHO[1:], "--commands", "api", "--ignore-sigterm"],
            "headless": {"shutdownTimeoutMs": 300},
        },
    )
    host.start("--no-tmux", "--adapter", "claude=command")
    result = spawn(admin, host).result or {}
    # Once it says it is ready it ignores SIGTERM (before that, Python is still importing).
    wait_for("the agent to be ready", lambda: "ready" in Path(result["log"]).read_text())
    down = final(admin, admin.agents.action(result["agentId"], "shutdown").command.id)
    assert (down.result or {})["exit"] == "killed by signal 9 (SIGKILL)"
    assert not pid_alive(result["pid"])


def test_refusals_and_provider_tests(host: Host, admin: Client, tmp_path: Path) -> None:
    host.start("--no-tmux", "--providers", "claude")
    outside = admin.orchestrators.spawn("h1", "claude", cwd=str(tmp_path))
    failed = final(admin, outside.command.id)
    assert failed.status == "failed"
    assert failed.error == f"cwd {tmp_path} is outside the orchestrator base directory {host.base.resolve()}"
    escape = admin.commands.create(
        "agent.spawn", source="system", target="orchestrator:h1", params={"provider": "claude", "cwd": "../.."}
    )
    assert final(admin, escape.id).error == f"cwd ../.. is outside the orchestrator base directory {host.base.resolve()}"
    codex = admin.commands.create(
        "agent.spawn", source="system", target="orchestrator:h1", params={"provider": "codex", "cwd": "proj"}
    )
    assert final(admin, codex.id).error == "provider codex is not offered by orchestrator h1"
    taken = admin.agents.register("someone-else")
    clash = admin.commands.create(
        "agent.spawn", source="system", target="orchestrator:h1", params={"provider": "claude", "agentId": taken.id}
    )
    assert final(admin, clash.id).error == 'agent "someone-else" already exists and is managed by no orchestrator'
    odd = admin.commands.create("connector.install", source="system", target="orchestrator:h1")
    rejected = final(admin, odd.id)
    assert (rejected.status, rejected.error) == ("rejected", "orchestrator h1 does not run connector.install")
    # Nothing was started for any of them.
    assert host.state()["agents"] == {} and [t for t in admin.tokens.list() if t.role == "agent"] == []

    tested = admin.providers.test("claude", orchestrator_id="h1")
    assert (tested.ok, tested.checked_on, tested.path) == (True, "orchestrator", ECHO[0])
    outcome = admin.commands.get(tested.command_id or "").result or {}
    assert outcome["version"] == f"Python {sys.version.split()[0]}"
    admin.providers.put("claude", {"command": "no-such-provider-binary"})
    missing = admin.providers.test("claude", orchestrator_id="h1")
    assert (missing.ok, missing.error) == (False, f"no-such-provider-binary: command not found on {outcome['host']}")


def test_directory_api_behind_the_relay_proxy(host: Host, admin: Client) -> None:
    (host.base / "proj" / ".hidden").mkdir()
    (host.base / "link").symlink_to("/")
    host.start("--no-tmux", "--api-port", "0")
    orch = admin.orchestrators.get("h1")
    assert orch.api_url and orch.api_url.startswith("http://127.0.0.1:")
    base = str(host.base.resolve())
    listing = admin.orchestrators.directories("h1")
    # Hidden directories (its own state lives in one) and symlinks are not listed.
    assert listing == {
        "base": base,
        "path": base,
        "parent": None,
        "directories": [{"name": "proj", "path": f"{base}/proj"}],
        "truncated": False,
    }
    deeper = admin.orchestrators.directories("h1", path="proj")
    assert deeper["directories"] == [{"name": "src", "path": f"{base}/proj/src"}] and deeper["parent"] == base
    for path, status, text in [
        ("..", 400, "path is outside the orchestrator base directory"),
        ("link", 400, "path is outside the orchestrator base directory"),
        ("nope", 404, "directory not found"),
    ]:
        with pytest.raises(RelayError) as refused:
            admin.orchestrators.directories("h1", path=path)
        assert (refused.value.status, refused.value.error) == (status, text), path
    # Straight to the orchestrator: only with the token the relay was given.
    assert httpx.get(f"{orch.api_url}/api/directories").json() == {"error": "authentication required"}
    r = httpx.get(f"{orch.api_url}/api/directories", headers={"Authorization": "Bearer guess"})
    assert (r.status_code, r.json()) == (401, {"error": "invalid token"})
    assert httpx.post(f"{orch.api_url}/api/directories").status_code == 405
    assert httpx.get(f"{orch.api_url}/api/other").status_code == 404


def test_orchestrator_rides_out_a_relay_restart(redis_url: str, admin: Client, tmp_path: Path) -> None:
    env = node_env(redis_url)
    node = ApiNode(env, tmp_path / "api-a.log").wait_ready()
    try:
        with Client(node.url, ADMIN_TOKEN) as relay:
            host = Host(tmp_path, node.url, relay)
            try:
                host.start("--no-tmux")
                first = spawn(relay, host)
                node.kill()
                time.sleep(0.5)
                node = ApiNode(env, tmp_path / "api-b.log", port=node.port).wait_ready()
                # The orchestrator reconnects on its own: the next command is carried out.
                again = spawn(relay, host)
                assert first.status == again.status == "succeeded"
                ids = {(first.result or {})["agentId"], (again.result or {})["agentId"]}
                assert len(ids) == 2 and set(host.state()["agents"]) == ids
            finally:
                host.cleanup()
    finally:
        node.stop()
