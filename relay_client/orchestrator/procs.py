"""Starting, watching, typing into and stopping agent processes: in tmux when it is installed, else as
supervised child processes with their output in a log file.

Every agent runs under the launcher shim (relay_client/orchestrator/launcher.py, which explains why).
- **tmux**: `tmux new-session -d -s <session> -c <cwd> -- python launcher.py …`. The pane is the
  agent's terminal: a person can `tmux attach -t <session>` to watch or step in, and prompts are
  pasted into it (`load-buffer` + `paste-buffer -p`, so a multi-line prompt arrives as one bracketed
  paste in TUIs that ask for it, then Enter). The session ends with the agent (no remain-on-exit).
- **child**: `python launcher.py …` in a new session (its own process group, so it outlives the
  orchestrator and can be signalled as a group), stdout/stderr to `<agent dir>/output.log`, stdin a
  FIFO the orchestrator writes prompts to (fits line-reading agents; TUIs need tmux).

Liveness is the agent pid (as the launcher reported it) with its start time; how it ended is the
launcher's exit file. Stopping: SIGTERM to the agent, wait, then SIGKILL to the agent and its
launcher's whole process group, then the tmux session.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relay_client.orchestrator.launcher import start_time
from relay_client.orchestrator.state import AgentRecord

LAUNCHER = str(Path(__file__).with_name("launcher.py"))
# How long a new launcher may take to report the agent's pid (an interpreter start, then a fork).
START_TIMEOUT_S = 15.0
# After the agent is gone its launcher writes the exit file at once; wait this long for it.
EXIT_FILE_WAIT_S = 2.0
TMUX_SIZE = ("220", "50")
# What a tmux client prints when the server it reached went away before answering.
TMUX_SERVER_GONE = frozenset({"server exited unexpectedly", "lost server"})
TMUX_RACE_TRIES = 5


class ProcessError(Exception):
    """A process could not be started, typed into or stopped (the text says why)."""


@dataclass(frozen=True)
class Started:
    pid: int
    pid_start: int | None
    launcher_pid: int | None
    session: str | None
    log_path: str | None


def pid_alive(pid: int | None, started: int | None = None) -> bool:
    """The process runs (not a zombie) and, when its start time is known, is the same process."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else: not ours, but alive
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except OSError:
        return True  # no /proc (not Linux): kill(0) is all we know
    fields = raw[raw.rfind(")") + 2 :].split()
    if fields and fields[0] == "Z":
        return False
    return started is None or start_time(pid) == started


def describe_exit(info: Mapping[str, Any] | None) -> str:
    """`exited with code 1`, `killed by signal 9 (SIGKILL)`, … for activity entries and results."""
    if not info:
        return "exited (how is unknown: its launcher was gone)"
    if info.get("error"):
        return f"could not start: {info['error']}"
    sig = info.get("signal")
    if isinstance(sig, int):
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"killed by signal {sig} ({name})"
    return f"exited with code {info.get('exitCode')}"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


class Supervisor:
    """Processes of one orchestrator. `tmux` is the tmux binary (None: child processes)."""

    def __init__(self, *, tmux: str | None, tmux_socket: str | None, base_env: Mapping[str, str]) -> None:
        self.tmux = tmux
        self.tmux_socket = tmux_socket
        # The environment tmux itself runs with (a tmux server started by us keeps it as its global
        # environment): the orchestrator's, minus its secrets.
        self.base_env = dict(base_env)
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    @staticmethod
    def find_tmux(wanted: bool) -> str | None:
        return shutil.which("tmux") if wanted else None

    @property
    def mode(self) -> str:
        return "tmux" if self.tmux else "child"

    def _tmux_args(self, socket: str | None, *args: str) -> list[str]:
        assert self.tmux is not None
        base = [self.tmux] + (["-S", socket] if socket else [])
        return [*base, *args]

    async def _run_tmux(self, socket: str | None, *args: str, stdin: bytes | None = None) -> tuple[int, str]:
        if self.tmux is None:
            raise ProcessError("tmux is not available")
        attempt = 0
        while True:
            attempt += 1
            proc = await asyncio.create_subprocess_exec(
                *self._tmux_args(socket, *args),
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=self.base_env,
            )
            out, _ = await proc.communicate(stdin)
            code, text = proc.returncode or 0, out.decode(errors="replace").strip()
            # The tmux server exits when its last session ends; a command that connected just before
            # is dropped unanswered (and did nothing). The next try finds no server and starts one.
            if code == 0 or text not in TMUX_SERVER_GONE or attempt == TMUX_RACE_TRIES:
                return code, text
            await asyncio.sleep(0.05 * attempt)

    # -- starting ----------------------------------------------------------------------------------

    async def start(
        self, agent_dir: Path, *, session: str, argv: list[str], env: Mapping[str, str], cwd: str
    ) -> Started:
        """Start `argv` in `cwd` with exactly `env`; returns once the launcher reported the agent's pid."""
        pid_file, exit_file, env_file = agent_dir / "pid.json", agent_dir / "exit.json", agent_dir / "env.json"
        for stale in (pid_file, exit_file):
            stale.unlink(missing_ok=True)
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(dict(env), f)
        shim = [sys.executable, LAUNCHER, "--env-file", str(env_file), "--pid-file", str(pid_file)]
        shim += ["--exit-file", str(exit_file)]
        log_path: str | None = None
        try:
            if self.tmux:
                await self._start_tmux(session, cwd, [*shim, "--", *argv])
            else:
                log_path = await self._start_child(agent_dir, cwd, shim, argv)
            info = await self._await_start(pid_file, exit_file)
        except BaseException:
            env_file.unlink(missing_ok=True)
            raise
        return Started(
            pid=int(info["pid"]),
            pid_start=info.get("startTime"),
            launcher_pid=info.get("launcherPid"),
            session=session if self.tmux else None,
            log_path=log_path,
        )

    async def _start_tmux(self, session: str, cwd: str, command: list[str]) -> None:
        code, out = await self._run_tmux(self.tmux_socket, "has-session", "-t", f"={session}")
        if code == 0:
            raise ProcessError(f"tmux session {session} already exists")
        width, height = TMUX_SIZE
        # More than one argument after `--`: tmux runs them directly, with no shell in between.
        code, out = await self._run_tmux(
            self.tmux_socket, "new-session", "-d", "-s", session, "-x", width, "-y", height, "-c", cwd, "--", *command
        )
        if code != 0:
            raise ProcessError(f"tmux new-session failed: {out}")

    async def _start_child(self, agent_dir: Path, cwd: str, shim: list[str], argv: list[str]) -> str:
        fifo = agent_dir / "stdin.fifo"
        fifo.unlink(missing_ok=True)
        os.mkfifo(fifo, 0o600)
        log_path = agent_dir / "output.log"
        with log_path.open("ab") as log:
            try:
                child = subprocess.Popen(  # noqa: S603 - our own launcher and the provider's configured command
                    [*shim, "--stdin-fifo", str(fifo), "--", *argv],
                    cwd=cwd,
                    env=self.base_env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ProcessError(f"could not start the launcher: {exc}") from exc
        self._children[child.pid] = child
        return str(log_path)

    async def _await_start(self, pid_file: Path, exit_file: Path) -> dict[str, Any]:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            info = _read_json(pid_file)
            if info is not None:
                return info
            ended = _read_json(exit_file)
            if ended is not None:
                raise ProcessError(describe_exit(ended))
            await asyncio.sleep(0.02)
        raise ProcessError(f"the agent did not start within {START_TIMEOUT_S:.0f} s")

    # -- watching ----------------------------------------------------------------------------------

    def reap(self) -> None:
        """Collect exited launchers this process started (they would stay zombies otherwise)."""
        for pid, child in list(self._children.items()):
            if child.poll() is not None:
                del self._children[pid]

    @staticmethod
    def read_pid(agent_dir: Path) -> dict[str, Any] | None:
        """What the launcher reported (for an agent whose start was cut short by our own crash)."""
        return _read_json(agent_dir / "pid.json")

    def alive(self, record: AgentRecord) -> bool:
        return pid_alive(record.pid, record.pid_start)

    async def exit_info(self, agent_dir: Path, *, wait: bool = True) -> dict[str, Any] | None:
        path = agent_dir / "exit.json"
        deadline = time.monotonic() + (EXIT_FILE_WAIT_S if wait else 0)
        while True:
            info = _read_json(path)
            if info is not None or time.monotonic() >= deadline:
                return info
            await asyncio.sleep(0.02)

    async def session_exists(self, record: AgentRecord) -> bool:
        if not record.session or self.tmux is None:
            return False
        code, _ = await self._run_tmux(record.tmux_socket, "has-session", "-t", f"={record.session}")
        return code == 0

    # -- typing ------------------------------------------------------------------------------------

    async def type_text(self, record: AgentRecord, agent_dir: Path, text: str) -> str:
        """Type `text` and Enter into the agent's terminal; returns how (`tmux` / `stdin`)."""
        if record.mode == "tmux":
            if not record.session:
                raise ProcessError("the agent has no tmux session")
            buffer = f"relay-{os.getpid()}-{time.monotonic_ns()}"
            target = f"={record.session}:"
            for args, data in (
                (("load-buffer", "-b", buffer, "-"), text.encode()),
                (("paste-buffer", "-d", "-p", "-b", buffer, "-t", target), None),
                (("send-keys", "-t", target, "Enter"), None),
            ):
                code, out = await self._run_tmux(record.tmux_socket, *args, stdin=data)
                if code != 0:
                    raise ProcessError(f"tmux {args[0]} failed: {out}")
            return "tmux"
        return await asyncio.to_thread(self._write_fifo, agent_dir / "stdin.fifo", text)

    @staticmethod
    def _write_fifo(fifo: Path, text: str) -> str:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ENXIO:
                raise ProcessError("the agent is not reading its input") from exc
            raise ProcessError(f"cannot write to the agent's input: {exc}") from exc
        try:
            data = (text.rstrip("\n") + "\n").encode()
            os.set_blocking(fd, True)
            while data:
                data = data[os.write(fd, data) :]
        finally:
            os.close(fd)
        return "stdin"

    # -- stopping ----------------------------------------------------------------------------------

    async def stop(self, record: AgentRecord, agent_dir: Path, timeout_s: float) -> dict[str, Any] | None:
        """SIGTERM, wait up to `timeout_s`, then SIGKILL (agent and its launcher's group), then the
        tmux session. Returns the exit info (None if the agent ended without its launcher)."""
        if self.alive(record):
            self._signal(record.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            while self.alive(record) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if self.alive(record):
                self._signal(record.pid, signal.SIGKILL)
        # Whatever else runs in the launcher's process group (the launcher, the agent's helpers).
        if record.launcher_pid and pid_alive(record.launcher_pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(record.launcher_pid, signal.SIGTERM)
        info = await self.exit_info(agent_dir)
        if record.launcher_pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(record.launcher_pid, signal.SIGKILL)
        if record.mode == "tmux" and record.session and self.tmux:
            await self._run_tmux(record.tmux_socket, "kill-session", "-t", f"={record.session}")
        self.reap()
        return info

    @staticmethod
    def _signal(pid: int | None, sig: int) -> None:
        if pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)

    async def forget(self, record: AgentRecord) -> None:
        """Remove what a half-started agent may have left (its session, its process group)."""
        if record.launcher_pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(record.launcher_pid, signal.SIGKILL)
        if record.session and self.tmux:
            await self._run_tmux(record.tmux_socket, "kill-session", "-t", f"={record.session}")
