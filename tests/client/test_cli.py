"""The `relay` CLI against a real relay: `--json` output parsed, exit codes, live commands.

Most commands run in-process (click's CliRunner, still over HTTP to the real node); the ones that
replace or outlive the process (`relay dev`, `--follow`, `watch`, the `relay token` alias as people
call it) run as real `relay` processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from relay_api.embedded import free_port
from relay_client import Client
from relay_client.cli import root
from tests.conftest import ADMIN_TOKEN
from tests.procs import ROOT

pytestmark = pytest.mark.multinode


@pytest.fixture
def cli(url: str, tmp_path: Path) -> Any:
    """`cli(*args)` -> (exit code, parsed JSON of stdout, or its text; stderr)."""
    runner = CliRunner()
    env = {"AGENT_RELAY_URL": url, "AGENT_RELAY_TOKEN": ADMIN_TOKEN, "AGENT_RELAY_DATA_DIR": str(tmp_path / "none")}

    def run(*args: str, env_extra: dict[str, str | None] | None = None) -> tuple[int, Any, str]:
        result = runner.invoke(root, list(args), env={**env, **(env_extra or {})}, catch_exceptions=False)
        try:
            out: Any = json.loads(result.stdout)
        except ValueError:
            out = result.stdout
        return result.exit_code, out, result.stderr

    return run


def relay_env(url: str | None, token: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_RELAY_", "REDIS_URL"))}
    env.update({"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **extra})
    if url:
        env["AGENT_RELAY_URL"] = url
    if token:
        env["AGENT_RELAY_TOKEN"] = token
    return env


def relay_process(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "relay_client.cli", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def relay_run(*args: str, env: dict[str, str]) -> tuple[int, Any, str]:
    done = subprocess.run(
        [sys.executable, "-m", "relay_client.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    try:
        return done.returncode, json.loads(done.stdout or done.stderr), done.stderr
    except ValueError:
        return done.returncode, done.stdout or done.stderr, done.stderr


def test_agents_messages_and_claims(cli: Any, url: str) -> None:
    with Client(url, ADMIN_TOKEN) as relay:
        relay.agents.register("alice", tags=["team"])
        relay.agents.register("bob", tags=["team"], label="reviewer")
    code, listed, _ = cli("agents", "--json")  # `relay agents` alone lists
    assert code == 0 and [a["id"] for a in listed] == ["alice", "bob"]
    code, listed, _ = cli("--json", "agents", "ls", "--tag", "team", "--status", "online")
    assert code == 0 and [a["id"] for a in listed] == ["alice", "bob"]
    code, shown, _ = cli("agents", "show", "bob", "--json")
    assert code == 0 and (shown["label"], shown["tags"]) == ("reviewer", ["team"])

    code, sent, _ = cli("send", "--from", "alice", "--to", "bob", "review please", "--subject", "PR", "--json")
    assert code == 0 and (sent["from"], sent["to"], sent["subject"], sent["body"]) == ("alice", "bob", "PR", "review please")
    code, reply, _ = cli("send", "--from", "bob", "--reply-to", str(sent["id"]), "done", "--json")
    assert code == 0 and (reply["to"], reply["replyTo"]) == ("alice", sent["id"])
    code, offer, _ = cli("send", "--from", "alice", "--to", "tag:team", "anyone?", "--claimable", "--json")
    assert code == 0 and offer["claimable"] is True
    code, inbox, _ = cli("inbox", "bob", "--json")
    assert code == 0 and [m["id"] for m in inbox] == [sent["id"], offer["id"]]
    code, inbox, _ = cli("inbox", "bob", "--since", str(sent["id"]), "--json")
    assert [m["id"] for m in inbox] == [offer["id"]]

    code, claimed, _ = cli("claim", str(offer["id"]), "--agent", "bob", "--json")
    assert code == 0 and claimed["claimedBy"] == "bob"
    code, _, err = cli("claim", str(offer["id"]), "--agent", "alice", "--json")
    assert code == 1 and json.loads(err) == {"error": "message already claimed by bob"}
    code, _, err = cli("claim", str(offer["id"]), "--agent", "alice")
    assert code == 1 and err.strip() == "error: 409 message already claimed by bob"
    code, released, _ = cli("release", str(offer["id"]), "--agent", "bob", "--json")
    assert code == 0 and released["claimedBy"] is None

    # Usage errors exit 2 and change nothing.
    code, _, err = cli("send", "--from", "alice", "no target")
    assert code == 2 and "--to is required" in err
    code, _, err = cli("send", "--from", "alice", "--to", "bob", "x", "--payload", "[1]")
    assert code == 2 and "--payload must be a JSON object" in err
    assert len(cli("inbox", "bob", "--json")[1]) == 2

    code, removed, _ = cli("agents", "rm", "alice", "--json")
    assert (code, removed) == (0, {"ok": True})
    code, _, err = cli("agents", "show", "alice")
    assert (code, err.strip()) == (1, "error: 404 agent not found")

    # People get tables.
    code, text, _ = cli("agents")
    assert code == 0 and "ID" in text and "STATUS" in text and "bob" in text and "reviewer" in text


def test_tasks_and_commands(cli: Any, url: str) -> None:
    with Client(url, ADMIN_TOKEN) as relay:
        relay.agents.register("w1")
    code, task, _ = cli("tasks", "create", "Fix login", "--target", "w1", "--severity", "critical", "--json")
    assert code == 0 and (task["title"], task["status"], task["severity"]) == ("Fix login", "open", "critical")
    code, claimed, _ = cli("tasks", "claim", str(task["id"]), "--agent", "w1", "--json")
    assert code == 0 and claimed["claimedBy"] == "w1"
    code, _, err = cli("tasks", "claim", str(task["id"]), "--agent", "w2", "--json")
    assert code == 1 and json.loads(err) == {"error": "task already claimed by w1"}
    code, done, _ = cli("tasks", "status", str(task["id"]), "done", "--agent", "w1", "--note", "fixed", "--json")
    assert code == 0 and done["status"] == "done"
    code, shown, _ = cli("tasks", "show", str(task["id"]), "--json")
    assert shown["task"]["status"] == "done" and [e["status"] for e in shown["history"]] == ["open", "claimed", "done"]
    code, listed, _ = cli("tasks", "ls", "--status", "done", "--json")
    assert [t["id"] for t in listed] == [task["id"]]

    code, command, _ = cli("commands", "create", "agent.prompt", "--target", "w1", "--params", '{"prompt": "go"}', "--json")
    assert code == 0 and (command["type"], command["status"], command["params"]) == ("agent.prompt", "pending", {"prompt": "go"})
    code, queue, _ = cli("commands", "ls", "--target", "w1", "--status", "pending", "--json")
    assert [c["id"] for c in queue] == [command["id"]]
    code, shown, _ = cli("commands", "show", command["id"], "--json")
    assert shown["id"] == command["id"]
    assert cli("commands", "cancel", command["id"], "--json")[:2] == (0, {"ok": True})
    code, _, err = cli("commands", "cancel", command["id"], "--json")
    assert code == 1 and json.loads(err) == {"error": "command not found or cannot be canceled"}
    assert cli("commands", "--json")[1][0]["status"] == "canceled"


def test_recipes_and_automations(cli: Any, url: str) -> None:
    code, recipes, _ = cli("recipes", "--json")
    assert code == 0 and {r["name"] for r in recipes} == {"code-review", "debug", "feature", "refactor", "test"}
    code, feature, _ = cli("recipes", "show", "feature", "--json")
    assert code == 0 and feature["recipe"]["steps"][0]["id"] == "spawn-planner"
    # The built-ins start without parameters (their defaults); with no orchestrator online the relay refuses.
    code, _, err = cli("recipes", "start", "feature", "--json")
    assert code == 1 and json.loads(err) == {"error": "no orchestrator available for provider: claude"}
    code, _, err = cli("recipes", "show", "nope")
    assert code == 1 and err.strip() == "error: 404 recipe not found"

    with Client(url, ADMIN_TOKEN) as relay:
        relay.agents.register("oncall")
    action = json.dumps({"type": "message", "message": {"from": "system", "to": "oncall", "body": "check"}})
    code, auto, _ = cli("automations", "create", "nightly", "--cron", "0 3 * * *", "--action", action, "--json")
    assert code == 0 and (auto["trigger"]["type"], auto["trigger"]["cron"]) == ("schedule", "0 3 * * *")
    code, listed, _ = cli("automations", "--json")
    assert [a["id"] for a in listed] == [auto["id"]]
    code, ran, _ = cli("automations", "run", auto["id"], "--json")
    assert code == 0 and ran["run"]["status"] == "succeeded" and ran["message"]["body"] == "check"
    code, runs, _ = cli("automations", "runs", "--automation", auto["id"], "--json")
    assert [r["id"] for r in runs] == [ran["run"]["id"]] and runs[0]["trigger"] == "manual"
    code, _, err = cli("automations", "create", "bad", "--cron", "not cron", "--action", action, "--json")
    assert code == 1 and "cron" in json.loads(err)["error"]
    code, _, err = cli("automations", "create", "half", "--cron", "0 3 * * *")
    assert code == 2 and "--action" in err
    assert cli("automations", "rm", auto["id"], "--json")[:2] == (0, {"ok": True})


def test_tokens(cli: Any, url: str) -> None:
    code, issued, _ = cli("tokens", "create", "--role", "agent", "--sub", "a1", "--scope", "agents:read", "--json")
    assert code == 0 and (issued["role"], issued["sub"], issued["scope"]) == ("agent", "a1", ["agents:read"])
    code, listed, _ = cli("tokens", "--json")
    assert [t["jti"] for t in listed] == [issued["jti"]] and "token" not in listed[0]
    code, text, _ = cli("tokens", "ls")
    assert code == 0 and issued["jti"] in text and "agent" in text
    code, shown, _ = cli("tokens", "show", issued["jti"], "--json")
    assert shown["jti"] == issued["jti"]
    assert cli("tokens", "revoke", issued["jti"], "--json")[:2] == (0, {"ok": True})
    # With a token that may not: the relay's answer.
    code, _, err = cli("tokens", "list", "--json", "--token", issued["token"])
    assert code == 1 and json.loads(err) == {"error": "token revoked"}


def test_token_alias_keeps_todays_behaviour(url: str, tmp_path: Path) -> None:
    """`relay token create|list|revoke` as it always was: JSON out, the admin token from AGENT_RELAY_ADMIN_TOKEN."""
    env = relay_env(url, None, AGENT_RELAY_ADMIN_TOKEN=ADMIN_TOKEN, AGENT_RELAY_DATA_DIR=str(tmp_path))
    code, created, _ = relay_run(
        "token", "create", "--role", "agent", "--sub", "a1", "--scope", "messages:send,agents:read", "--ttl-seconds", "600", env=env
    )
    assert code == 0 and isinstance(created, dict)
    assert (created["role"], created["sub"], created["scope"]) == ("agent", "a1", ["messages:send", "agents:read"])
    assert created["expiresAt"] - created["createdAt"] <= 600_000 + 1000
    assert httpx.get(url + "/api/agents", headers={"Authorization": f"Bearer {created['token']}"}).status_code == 200
    code, listed, _ = relay_run("token", "list", env=env)
    assert code == 0 and [t["jti"] for t in listed] == [created["jti"]] and "token" not in listed[0]
    assert relay_run("token", "revoke", created["jti"], env=env)[:2] == (0, {"ok": True})
    assert relay_run("token", "revoke", created["jti"], env=env)[:2] == (1, {"error": "token not found or already revoked"})
    # Without any token it says so (exit 2); a wrong one gets the relay's answer.
    bare = relay_env(url, None, AGENT_RELAY_DATA_DIR=str(tmp_path))
    code, text, _ = relay_run("token", "list", env=bare)
    assert code == 2 and "AGENT_RELAY_ADMIN_TOKEN" in str(text)
    assert relay_run("token", "list", "--token", "wrong", env=bare)[:2] == (1, {"error": "invalid token"})
    code, refused, _ = relay_run("token", "create", "--role", "nobody", env=env)
    assert code == 1 and refused["error"].startswith("role must be one of")


def test_token_list_beside_a_running_relay_dev(tmp_path: Path) -> None:
    """No URL and no token set: `relay token list` finds what `relay dev` keeps in its data dir."""
    port = free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = relay_env(None, None, HOME=str(home))
    dev = relay_process("dev", "--port", str(port), env=env)  # through the client CLI's hand-over to the server
    try:
        url_file = home / ".agent-relay" / "url"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert dev.poll() is None, dev.communicate()
            if url_file.exists():
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        assert url_file.read_text().strip() == f"http://127.0.0.1:{port}"
        assert relay_run("token", "list", env=env)[:2] == (0, [])
        code, issued, _ = relay_run("tokens", "create", "--role", "viewer", "--json", env=env)
        assert code == 0 and issued["role"] == "viewer"
        code, report, _ = relay_run("doctor", "--json", env=env)
        checks = {c["name"]: c["status"] for c in report["checks"]}
        assert (checks["relay"], checks["token"], checks["redis"], checks["events"]) == ("ok", "ok", "ok", "ok")
    finally:
        dev.terminate()
        dev.wait(timeout=30)
    assert dev.returncode == 0


def test_doctor(cli: Any, url: str, tmp_path: Path) -> None:
    # The test's flush wiped the worker's heartbeat: wait for its next one (every 5 s).
    deadline = time.monotonic() + 30
    while not httpx.get(url + "/api/health").json()["workers"]["alive"]:
        assert time.monotonic() < deadline, "the module's worker never heartbeat"
        time.sleep(0.2)
    code, report, _ = cli("doctor", "--json")
    checks = {c["name"]: c for c in report["checks"]}
    assert code == 0 and report["ok"] is True, json.dumps(report, indent=1)
    assert list(checks) == ["relay", "token", "version", "redis", "workers", "reaper", "clock", "events"]
    assert all(c["status"] in ("ok", "warn") for c in checks.values()), checks
    assert checks["workers"]["status"] == "ok" and checks["token"]["detail"].startswith("accepted")

    code, report, _ = cli("doctor", "--json", "--url", "http://127.0.0.1:9")
    assert code == 1 and [c["name"] for c in report["checks"]] == ["relay"]
    assert report["checks"][0]["status"] == "fail" and "relay dev" in report["checks"][0]["fix"]

    code, report, _ = cli("doctor", "--json", "--token", "wrong")
    token = next(c for c in report["checks"] if c["name"] == "token")
    assert code == 1 and token["status"] == "fail" and "invalid token" in token["detail"]
    code, text, _ = cli("doctor", "--token", "wrong")
    assert code == 1 and "✗ token" in text and "something needs fixing" in text


def read_json_lines(process: subprocess.Popen[str], count: int) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    assert process.stdout is not None
    while len(lines) < count:
        line = process.stdout.readline()
        assert line, f"the process ended: {process.stderr.read() if process.stderr else ''}"
        lines.append(json.loads(line))
    return lines


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.terminate()
            p.wait(timeout=10)


def test_inbox_follow_and_events(url: str, processes: list[subprocess.Popen[str]], tmp_path: Path) -> None:
    env = relay_env(url, ADMIN_TOKEN, AGENT_RELAY_DATA_DIR=str(tmp_path))
    with Client(url, ADMIN_TOKEN) as relay:
        relay.agents.register("bob", tags=["team"])
        old = relay.messages.send("x", "bob", "already there")
        with relay.events() as here:
            here.connect()
            start = here.last_event_id  # where the stream stands now, before the sends below
        assert start is not None
        follow = relay_process("inbox", "bob", "--follow", "--json", env=env)
        tail = relay_process("events", "--types", "message.created", "--last-event-id", start, "--json", env=env)
        processes += [follow, tail]
        # `--follow` prints the inbox after its stream is open: from here on nothing can be missed.
        assert [m["id"] for m in read_json_lines(follow, 1)] == [old.id]
        direct = relay.messages.send("x", "bob", "new one")
        relay.messages.send("x", "carol", "not for bob")
        fan = relay.messages.send("x", "tag:team", "to the team")
    assert [m["id"] for m in read_json_lines(follow, 2)] == [direct.id, fan.id]
    events = read_json_lines(tail, 3)
    assert [e["type"] for e in events] == ["message.created"] * 3
    assert [e["data"]["message"]["body"] for e in events] == ["new one", "not for bob", "to the team"]
    assert all(e["id"].startswith("bus=") for e in events)
    # A printed id resumes: what came after the first event, once more.
    resumed = relay_process("events", "--json", "--types", "message.created", "--last-event-id", events[0]["id"], env=env)
    processes.append(resumed)
    assert [e["id"] for e in read_json_lines(resumed, 2)] == [e["id"] for e in events[1:]]


def test_commands_watch_until_final(url: str, processes: list[subprocess.Popen[str]], tmp_path: Path) -> None:
    env = relay_env(url, ADMIN_TOKEN, AGENT_RELAY_DATA_DIR=str(tmp_path))
    with Client(url, ADMIN_TOKEN) as relay:
        command = relay.commands.create("agent.prompt", source="user", target="w1")
        watcher = relay_process("commands", "watch", command.id, "--json", env=env)
        processes.append(watcher)
        # Its first line is the command as it stands, printed once its stream is open.
        assert [(c["id"], c["status"]) for c in read_json_lines(watcher, 1)] == [(command.id, "pending")]
        relay.commands.accept(command.id)
        relay.commands.fail(command.id, "no such agent")
    lines = read_json_lines(watcher, 2)
    assert [(c["id"], c["status"], c["error"]) for c in lines] == [
        (command.id, "accepted", None),
        (command.id, "failed", "no such agent"),
    ]
    assert watcher.wait(timeout=30) == 1  # it ended when the command did; failed -> exit 1


TWO_STEP = """
name: two
roles:
  dev: {provider: codex}
steps:
  - {id: spawn, role: dev, action: spawn}
  - {id: work, role: dev, action: prompt, needs: [spawn], prompt: go}
"""


def test_recipe_start_watch_follows_each_step(url: str, processes: list[subprocess.Popen[str]], tmp_path: Path) -> None:
    """`relay recipes start --watch` shows each step until the instance ends, while an orchestrator works."""
    recipe = tmp_path / "two.yaml"
    recipe.write_text(TWO_STEP)
    env = relay_env(url, ADMIN_TOKEN, AGENT_RELAY_DATA_DIR=str(tmp_path))
    stop = threading.Event()

    def orchestrator() -> None:
        # A stand-in for the host daemon: it succeeds every command addressed to it or to its agent.
        with Client(url, ADMIN_TOKEN) as host:
            host.orchestrators.register("o1", "host", providers=["codex"])
            while not stop.is_set():
                for target in ("orchestrator:o1", "dev-1"):
                    for command in host.commands.list(target=target, status="pending"):
                        result = {"agentId": "dev-1"} if command.type == "agent.spawn" else {"ok": True}
                        host.commands.succeed(command.id, result)
                time.sleep(0.05)

    with Client(url, ADMIN_TOKEN) as relay:
        worker = threading.Thread(target=orchestrator, daemon=True)
        worker.start()
        while not relay.orchestrators.list():
            time.sleep(0.05)
        watch = relay_process("recipes", "start", "--file", str(recipe), "--orchestrator", "o1", "--watch", "--json", env=env)
        processes.append(watch)
        try:
            code = watch.wait(timeout=60)
        finally:
            stop.set()
            worker.join(timeout=10)
    assert watch.stdout is not None
    updates = [json.loads(line) for line in watch.stdout.read().splitlines()]
    assert code == 0, updates
    assert updates[-1]["status"] == "succeeded"
    assert [s["status"] for s in updates[-1]["steps"]] == ["succeeded", "succeeded"]
    # Each step's progress was shown as it happened: the work step was seen running before it succeeded.
    work_states = [next(s["status"] for s in u["steps"] if s["id"] == "work") for u in updates]
    assert "running" in work_states and work_states.index("running") < work_states.index("succeeded")


def test_version_and_server_hand_over(tmp_path: Path) -> None:
    env = relay_env(None, None, AGENT_RELAY_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "relay_client.cli", "--version"], env=env, capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (0, "relay 0.10.0")
    # The server's own CLI answers for serve (its flags, its refusal without an admin token).
    done = subprocess.run(
        [sys.executable, "-m", "relay_client.cli", "serve", "--help"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0 and "--access-log" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "relay_client.cli", "serve", "--port", "1"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 2 and "AGENT_RELAY_ADMIN_TOKEN is not set" in done.stderr
