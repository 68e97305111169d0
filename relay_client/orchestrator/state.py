"""What the orchestrator must remember across its own restart: the agents it runs and the commands it took.

One small JSON file, `<state dir>/state.json` (0600 in a 0700 directory), rewritten atomically on
every change. It holds pids, tmux sessions and token *ids* (jti) — never a token: an agent's secret
lives only in that agent's environment, and a restart mints a new one.

On start the orchestrator reads it to adopt the agents that still run (pid and start time match),
report the ones that ended while it was away, and finish the commands it had taken.
"""

from __future__ import annotations

import fcntl
import os
import re
import zlib
from pathlib import Path
from typing import Any, Literal

import msgspec

STATE_VERSION = 1
AgentStatus = Literal["starting", "running", "exited"]


class AgentRecord(msgspec.Struct, kw_only=True, rename="camel"):
    """One managed agent and everything needed to watch, stop or start it again."""

    id: str
    provider: str
    adapter: str
    cwd: str
    label: str | None = None
    approval_mode: str = "guarded"
    capabilities: list[str] = msgspec.field(default_factory=list)
    tags: list[str] = msgspec.field(default_factory=list)
    prompt: str | None = None
    status: AgentStatus = "starting"
    # "tmux": a session on `tmux_socket` (None = tmux's default server); "child": a process group.
    mode: Literal["tmux", "child"] = "child"
    session: str | None = None
    tmux_socket: str | None = None
    pid: int | None = None
    pid_start: int | None = None
    launcher_pid: int | None = None
    log_path: str | None = None
    token_jti: str | None = None
    shutdown_timeout_ms: int = 10_000
    spawn_command_id: str | None = None
    started_at: int | None = None
    # The card's session as the orchestrator registered it at launch; the agent's own `relay mcp`
    # (a newer session) taking it over says the agent is up.
    launch_session: str | None = None
    launch_started_at: int | None = None
    exit: dict[str, Any] | None = None


class TakenCommand(msgspec.Struct, kw_only=True, rename="camel"):
    """A command this orchestrator accepted and has not finished reporting.

    `phase`: "taken" (accepted, being worked on), "delivered" (a prompt typed into the agent's
    terminal; the agent itself finishes it), "done" (the outcome below is decided but its report may
    not have reached the relay).
    """

    id: str
    type: str
    target: str
    phase: Literal["taken", "delivered", "done"] = "taken"
    agent_id: str | None = None
    status: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None


class State(msgspec.Struct, kw_only=True, rename="camel"):
    version: int = STATE_VERSION
    orchestrator_id: str = ""
    agents: dict[str, AgentRecord] = msgspec.field(default_factory=dict)
    commands: dict[str, TakenCommand] = msgspec.field(default_factory=dict)


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(State).decode


def safe_name(agent_id: str) -> str:
    """A file and tmux-session friendly form of an agent id, still unique (ids may hold any text but `/`)."""
    readable = re.sub(r"[^A-Za-z0-9_-]", "_", agent_id)[:80]
    if readable == agent_id:
        return readable
    return f"{readable}-{zlib.crc32(agent_id.encode()):08x}"


class StateFile:
    def __init__(self, directory: Path, orchestrator_id: str) -> None:
        self.directory = directory
        self.path = directory / "state.json"
        self.orchestrator_id = orchestrator_id
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)
        # One daemon per state dir: a second would fight the first over the same agents. The lock
        # goes with the process, so one killed with -9 does not keep its successor out.
        self._lock = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock)
            raise ValueError(f"another relay orchestrator is running on {directory}") from None
        try:
            self.state = self._load()
        except BaseException:
            os.close(self._lock)
            raise

    def _load(self) -> State:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return State(orchestrator_id=self.orchestrator_id)
        state = _decode(raw)
        if state.orchestrator_id and state.orchestrator_id != self.orchestrator_id:
            raise ValueError(
                f"{self.path} belongs to orchestrator {state.orchestrator_id!r}, not {self.orchestrator_id!r}"
            )
        state.orchestrator_id = self.orchestrator_id
        return state

    def close(self) -> None:
        os.close(self._lock)

    def agent_dir(self, agent_id: str) -> Path:
        path = self.directory / "agents" / safe_name(agent_id)
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(_encode(self.state))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
