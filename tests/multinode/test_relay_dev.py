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
