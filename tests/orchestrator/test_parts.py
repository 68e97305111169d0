"""The orchestrator's parts without processes: adapter command lines, exit texts, the state file, the
directory listing's bounds, the prompt footer the echo agent parses."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from relay_client.orchestrator.adapters import ADAPTERS, LaunchContext, adapter_named
from relay_client.orchestrator.directories import MAX_ENTRIES, ListingError, list_directories
from relay_client.orchestrator.echo_agent import MARKER
from relay_client.orchestrator.procs import Supervisor, describe_exit
from relay_client.orchestrator.state import AgentRecord, StateFile, safe_name

RELAY_ENV = {"AGENT_RELAY_URL": "http://relay:4850", "AGENT_RELAY_TOKEN": "tok-1", "AGENT_RELAY_AGENT_ID": "a 1"}


def ctx(tmp_path: Path, approval: str = "guarded", prompt: str | None = "You review code.") -> LaunchContext:
    return LaunchContext(
        agent_id="a 1",
        command="claude",
        default_args=["--model", "x"],
        cwd="/w",
        approval_mode=approval,
        prompt=prompt,
        agent_dir=tmp_path,
        mcp_argv=["/py", "-m", "relay_client.cli", "mcp", "--agent-id", "a 1"],
        relay_env=RELAY_ENV,
    )


@pytest.mark.parametrize(
    ("approval", "flags"),
    [
        ("read-only", ["--permission-mode", "plan"]),
        ("guarded", ["--permission-mode", "acceptEdits"]),
        ("open", ["--dangerously-skip-permissions"]),
    ],
)
def test_claude_command_line(tmp_path: Path, approval: str, flags: list[str]) -> None:
    launch = adapter_named("claude").launch(ctx(tmp_path, approval))
    config = tmp_path / "mcp.json"
    assert launch.argv[:7] == ["claude", "--model", "x", "--mcp-config", str(config), "--allowedTools", "mcp__agent-relay"]
    assert launch.argv[7:-1] == flags
    assert launch.argv[-1].startswith("You are agent a 1 on Agent Relay.") and launch.argv[-1].endswith("You review code.")
    server = json.loads(launch.files[config])["mcpServers"]["agent-relay"]
    assert server == {"type": "stdio", "command": "/py", "args": ["-m", "relay_client.cli", "mcp", "--agent-id", "a 1"], "env": RELAY_ENV}
    assert launch.env == {}


@pytest.mark.parametrize(
    ("approval", "flags"),
    [
        ("read-only", ["--sandbox", "read-only", "--ask-for-approval", "on-request"]),
        ("guarded", ["--sandbox", "workspace-write", "--ask-for-approval", "on-request"]),
        ("open", ["--dangerously-bypass-approvals-and-sandbox"]),
    ],
)
def test_codex_command_line(tmp_path: Path, approval: str, flags: list[str]) -> None:
    launch = adapter_named("codex").launch(ctx(tmp_path, approval))
    assert launch.argv[:9] == [
        "claude",  # the configured command, whatever it is
        "--model",
        "x",
        "-c",
        'mcp_servers.agent-relay.command="/py"',
        "-c",
        'mcp_servers.agent-relay.args=["-m", "relay_client.cli", "mcp", "--agent-id", "a 1"]',
        "-c",
        'mcp_servers.agent-relay.env_vars=["AGENT_RELAY_URL", "AGENT_RELAY_TOKEN", "AGENT_RELAY_AGENT_ID"]',
    ]
    assert launch.argv[9:-1] == flags
    # No secret on the command line or on disk: codex passes the named variables through.
    assert "tok-1" not in " ".join(launch.argv) and launch.files == {}


def test_command_adapter_and_the_prompt_footer(tmp_path: Path) -> None:
    command = adapter_named("command")
    assert not command.delivers_prompts and ADAPTERS["claude"].delivers_prompts and ADAPTERS["codex"].delivers_prompts
    launch = command.launch(ctx(tmp_path, "read-only"))
    assert launch.argv == ["claude", "--model", "x"]
    assert launch.env == {"AGENT_RELAY_APPROVAL_MODE": "read-only", "AGENT_RELAY_SPAWN_PROMPT": "You review code."}
    assert "AGENT_RELAY_SPAWN_PROMPT" not in command.launch(ctx(tmp_path, prompt=None)).env

    prompt = SimpleNamespace(id="cmd_0123abc", type="agent.prompt", params={"prompt": "Review it.\nCarefully."})
    text = adapter_named("claude").prompt_text(prompt)
    assert text.startswith("Review it.\nCarefully.\n\n[Agent Relay command cmd_0123abc] When you are done, call")
    assert 'command_id "cmd_0123abc", status "succeeded"' in text
    found = MARKER.search(text.splitlines()[-1])
    assert found and found.group(1) == "cmd_0123abc"
    task = SimpleNamespace(id="cmd_9", type="task.create", params={"title": "Add tests", "body": "For x.", "severity": "info"})
    assert adapter_named("codex").prompt_text(task).startswith("Task: Add tests\nSeverity: info\n\nFor x.\n\n[Agent Relay")


def test_exit_texts() -> None:
    assert describe_exit({"exitCode": 0, "signal": None}) == "exited with code 0"
    assert describe_exit({"exitCode": None, "signal": 9}) == "killed by signal 9 (SIGKILL)"
    assert describe_exit({"exitCode": None, "signal": 15}) == "killed by signal 15 (SIGTERM)"
    assert describe_exit({"exitCode": 127, "error": "[Errno 2] No such file"}) == "could not start: [Errno 2] No such file"
    assert describe_exit(None) == "exited (how is unknown: its launcher was gone)"


def test_state_file_round_trip_and_ownership(tmp_path: Path) -> None:
    store = StateFile(tmp_path / "s", "h1")
    store.state.agents["a/b c"] = AgentRecord(id="a/b c", provider="claude", adapter="claude", cwd="/w", pid=42, token_jti="j1")
    store.save()
    assert oct((tmp_path / "s" / "state.json").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "s").stat().st_mode & 0o777) == "0o700"
    # While one daemon holds the directory, no second one may start on it.
    with pytest.raises(ValueError, match="another relay orchestrator is running on"):
        StateFile(tmp_path / "s", "h1")
    store.close()
    again = StateFile(tmp_path / "s", "h1")
    assert again.state.agents["a/b c"].pid == 42 and again.state.agents["a/b c"].token_jti == "j1"
    again.close()
    with pytest.raises(ValueError, match="belongs to orchestrator 'h1', not 'h2'"):
        StateFile(tmp_path / "s", "h2")
    # File and tmux-session names: readable, and distinct for ids that sanitise alike.
    assert safe_name("plain-id_1") == "plain-id_1"
    assert safe_name("a/b c").startswith("a_b_c-") and safe_name("a/b c") != safe_name("a b/c")
    assert "." not in safe_name("x.y:z") and ":" not in safe_name("x.y:z")


def test_directory_listing_is_confined_and_bounded(tmp_path: Path) -> None:
    base = tmp_path / "base"
    for i in range(MAX_ENTRIES + 5):
        (base / "many" / f"d{i:05d}").mkdir(parents=True)
    (base / "file.txt").write_text("x")
    os.symlink(tmp_path, base / "up")
    top = list_directories(str(base), None)
    assert [d["name"] for d in top["directories"]] == ["many"] and top["parent"] is None
    many = list_directories(str(base), "many")
    assert len(many["directories"]) == MAX_ENTRIES and many["truncated"] is True
    assert many["parent"] == str(base.resolve())
    for path, status in [("..", 400), ("up", 400), (str(tmp_path), 400), ("file.txt", 404), ("many/../../..", 400), ("x\x00", 400)]:
        with pytest.raises(ListingError) as refused:
            list_directories(str(base), path)
        assert refused.value.status == status, path


def test_a_tmux_command_dropped_by_an_exiting_server_is_tried_again(tmp_path: Path) -> None:
    """The tmux server exits with its last session; a new-session that reached it just then gets
    "server exited unexpectedly" and did nothing. Seen in CI as a recipe's next spawn failing."""
    calls = tmp_path / "calls"
    fake = tmp_path / "tmux"
    # Drops the first two calls the way a dying server does, then answers; any other error is final.
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        f'n=$(wc -l < {calls})\n'
        'if [ "$1" = "kill-session" ]; then echo "can\'t find session: x"; exit 1; fi\n'
        'if [ "$n" -le 2 ]; then echo "server exited unexpectedly"; exit 1; fi\n'
        "exit 0\n"
    )
    fake.chmod(0o755)
    supervisor = Supervisor(tmux=str(fake), tmux_socket=None, base_env={"PATH": os.environ["PATH"]})

    assert asyncio.run(supervisor._run_tmux(None, "new-session", "-d", "-s", "s1")) == (0, "")
    assert calls.read_text().splitlines() == ["new-session -d -s s1"] * 3
    # A real refusal is not retried.
    assert asyncio.run(supervisor._run_tmux(None, "kill-session", "-t", "x")) == (1, "can't find session: x")
    assert calls.read_text().splitlines()[3:] == ["kill-session -t x"]
