"""Real processes for the orchestrator tests: a relay node and worker, `relay orchestrator` processes, and
the echo agent (relay_client/orchestrator/echo_agent.py) configured as the providers' command.

`Host` is one developer machine: a base dir, a state dir, a tmux server of its own (`tmux -S`), an
orchestrator token for `h1`, and the orchestrator processes started on it. Its cleanup kills what a
failed test may have left (orchestrators, the tmux server, every pid the state file names).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from relay_client import Client
from tests.conftest import ADMIN_TOKEN
from tests.procs import ROOT, ApiNode, Proc, api_nodes, relay_env, workers
from tests.security.conftest import TOKEN_SECRET
from tests.tools import find_tool, require_tool

pytestmark = pytest.mark.multinode

T = TypeVar("T")

# Agents go stale only after 10 minutes here: an `offline` card in these tests was put there by the
# orchestrator, never by the reaper.
NODE_ENV = {
    "AGENT_RELAY_SSE_KEEPALIVE_S": "0.5",
    "AGENT_RELAY_TOKEN_SECRET": TOKEN_SECRET,
    "AGENT_RELAY_REAP_INTERVAL_S": "0.5",
    "AGENT_RELAY_STALE_AFTER_S": "600",
    "AGENT_RELAY_OFFLINE_AFTER_S": "1200",
}
ECHO = [sys.executable, "-m", "relay_client.orchestrator.echo_agent"]


def node_env(redis_url: str) -> dict[str, str]:
    return relay_env(redis_url, ADMIN_TOKEN, **NODE_ENV)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60.0, every: float = 0.05) -> T:
    """Poll `probe` until it returns something truthy (a generous bound: these are not timing tests)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def relay_node(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiNode]:
    tmp = tmp_path_factory.mktemp("relay")
    env = node_env(redis_url)
    with api_nodes(1, env, tmp) as nodes, workers(1, env, tmp):
        yield nodes[0]


@pytest.fixture
def admin(relay_node: ApiNode, redis: object) -> Iterator[Client]:
    """The admin's client on a freshly flushed relay, with both providers running the echo agent."""
    with Client(relay_node.url, ADMIN_TOKEN) as relay:
        for provider in ("claude", "codex"):
            relay.providers.put(
                provider,
                {"command": ECHO[0], "defaultArgs": ECHO[1:], "headless": {"shutdownTimeoutMs": 5000}},
            )
        yield relay


class Host:
    def __init__(self, tmp: Path, url: str, admin: Client, orchestrator_id: str = "h1") -> None:
        self.tmp = tmp
        self.url = url
        self.admin = admin
        self.id = orchestrator_id
        self.base = tmp / "base"
        (self.base / "proj" / "src").mkdir(parents=True)
        self.state_dir = tmp / "state"
        self.tmux_socket = str(tmp / "tmux.sock")
        self.token = admin.tokens.create("orchestrator", sub=orchestrator_id).token
        self.procs: list[Proc] = []
        self.count = 0

    def start(self, *extra: str, wait: bool = True) -> Proc:
        """`relay orchestrator --id <id>` on this host, with its own tmux server; waits until registered."""
        env = {k: v for k, v in os.environ.items() if k not in ("AGENT_RELAY_ADMIN_TOKEN", "TMUX", "TMUX_PANE")}
        env.update(
            AGENT_RELAY_URL=self.url,
            AGENT_RELAY_TOKEN=self.token,
            PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
            PYTHONUNBUFFERED="1",
        )
        self.count += 1
        args = [sys.executable, "-m", "relay_client.cli", "orchestrator", "--id", self.id, "--base-dir", str(self.base)]
        args += ["--state-dir", str(self.state_dir), "--tmux-socket", self.tmux_socket, "--poll-s", "1", *extra]
        proc = Proc(args, env, self.tmp / f"orchestrator-{self.count}.log")
        self.procs.append(proc)
        if wait:
            wait_for(f"orchestrator start\n{proc.log()}", lambda: "agent(s) adopted" in proc.log() or self._died(proc))
            assert proc.alive(), proc.log()
        return proc

    @staticmethod
    def _died(proc: Proc) -> bool:
        return not proc.alive()

    def state(self) -> dict[str, Any]:
        try:
            return json.loads((self.state_dir / "state.json").read_text())  # type: ignore[no-any-return]
        except FileNotFoundError:
            return {}

    def tmux_sessions(self) -> list[str]:
        tmux = require_tool("tmux")
        out = subprocess.run(
            [tmux, "-S", self.tmux_socket, "list-sessions", "-F", "#{session_name}"],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout.split() if out.returncode == 0 else []

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.alive():
                proc.kill()
        for record in self.state().get("agents", {}).values():
            for pid in (record.get("pid"), record.get("launcherPid")):
                if pid and pid_alive(pid):
                    os.kill(pid, signal.SIGKILL)
        tmux = find_tool("tmux")  # a run with --no-tmux on a machine without tmux has no server to end
        if tmux is not None:
            subprocess.run([tmux, "-S", self.tmux_socket, "kill-server"], capture_output=True, check=False)


def needs_tmux() -> None:
    require_tool("tmux")


@pytest.fixture
def host(admin: Client, relay_node: ApiNode, tmp_path: Path) -> Iterator[Host]:
    h = Host(tmp_path, relay_node.url, admin)
    try:
        yield h
    finally:
        h.cleanup()
