"""`relay dev` with no REDIS_URL: an embedded Redis keeping its data in the data dir across restarts."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from relay_api.embedded import free_port
from tests.procs import ROOT

pytestmark = pytest.mark.multinode


class DevRun:
    def __init__(self, port: int, data_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "AGENT_RELAY_"))}
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "relay_api.cli", "dev", "--port", str(port), "--data-dir", str(data_dir)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_line(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if m := re.search(pattern, line):
                    return m
            assert self.proc.poll() is None, "".join(self.lines)
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r}:\n{''.join(self.lines)}")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("relay dev never became ready")


def test_relay_dev_keeps_its_data_across_a_restart(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "data"

    first = DevRun(port, data_dir)
    try:
        assert first.wait_line(r"Agent Relay running at (\S+)").group(1) == url
        token = first.wait_line(r"Admin token: (\S+)").group(1)
        first.wait_line(r"embedded, data in")
        wait_ready(url)
        auth = {"Authorization": f"Bearer {token}"}
        r = httpx.post(url + "/api/agents", json={"id": "persisted", "tags": ["keep"]}, headers=auth, timeout=5)
        assert r.status_code == 201
        r = httpx.post(url + "/api/messages", json={"from": "user", "to": "persisted", "body": "hi"}, headers=auth)
        assert r.status_code == 201
    finally:
        assert first.stop() == 0
    assert (data_dir / "redis").is_dir() and (data_dir / "admin-token").read_text().strip() == token

    second = DevRun(port, data_dir)
    try:
        assert second.wait_line(r"Admin token: (\S+)").group(1) == token
        wait_ready(url)
        r = httpx.get(url + "/api/agents/persisted", headers=auth, timeout=5)
        assert r.status_code == 200 and r.json()["tags"] == ["keep"]
        inbox = httpx.get(url + "/api/messages", params={"for": "persisted"}, headers=auth, timeout=5).json()
        assert [m["body"] for m in inbox] == ["hi"]
    finally:
        assert second.stop() == 0


def children(pid: int) -> dict[str, int]:
    """`relay dev`'s child processes by role ("serve", "worker", "redis")."""
    found: dict[str, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(fields[1]) != pid:
            continue
        args = [a.decode(errors="replace") for a in cmdline]
        # The worker child runs `relay_api.cli worker`, which replaces itself with `python -m relay_worker`.
        roles = {"serve": "serve", "worker": "worker", "relay_worker": "worker"}
        role = "redis" if "redis-server" in args[0] else next((roles[a] for a in args if a in roles), "?")
        found[role] = int(stat.parent.name)
    return found


def wait_for_children(pid: int, *, not_pids: set[int], timeout: float = 30.0) -> dict[str, int]:
    """All three children up, none of them one of `not_pids` (those were killed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = children(pid)
        if set(now) == {"serve", "worker", "redis"} and not set(now.values()) & not_pids:
            return now
        time.sleep(0.1)
    raise AssertionError(f"children of relay dev: {children(pid)}")


def test_relay_dev_restarts_a_killed_worker_and_a_killed_redis_and_keeps_serving(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    run = DevRun(port, tmp_path / "data")
    try:
        token = run.wait_line(r"Admin token: (\S+)").group(1)
        auth = {"Authorization": f"Bearer {token}"}
        wait_ready(url)
        first = wait_for_children(run.proc.pid, not_pids=set())
        assert httpx.post(url + "/api/agents", json={"id": "kept"}, headers=auth, timeout=5).status_code == 201

        os.kill(first["worker"], signal.SIGKILL)
        run.wait_line(r"relay dev: worker exited \(code -9\); restarting it")
        run.wait_line(r"relay dev: worker restarted")
        os.kill(first["redis"], signal.SIGKILL)
        run.wait_line(r"relay dev: embedded Redis exited \(code -9\); restarting it")
        run.wait_line(r"relay dev: embedded Redis restarted")
        now = wait_for_children(run.proc.pid, not_pids={first["worker"], first["redis"]})
        # The API node was never restarted: it waited for Redis and carried on.
        assert now["serve"] == first["serve"]
        wait_ready(url)
        assert httpx.get(url + "/api/agents/kept", headers=auth, timeout=5).status_code == 200
        # The restarted worker runs the reaper on the restarted Redis.
        deadline = time.monotonic() + 30
        while True:
            health = httpx.get(url + "/api/health", headers=auth, timeout=5).json()
            # The killed worker's liveness key expires; the pass recorded before the kill ages.
            if health["workers"]["alive"] == 1 and (health.get("reaper") or {}).get("agoMs", 10**9) < 3000:
                break
            assert time.monotonic() < deadline, health
            time.sleep(0.2)
        assert run.proc.poll() is None
    finally:
        assert run.stop() == 0
