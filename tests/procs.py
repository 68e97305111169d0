"""Real relay processes for multi-node tests: `relay serve` API nodes and `relay worker` workers.

Processes run this checkout's code (`python -m relay_api.cli` with the repo root on PYTHONPATH)
and log to files under the test's tmp dir, which the failure message points at.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from relay_api.embedded import free_port

ROOT = Path(__file__).resolve().parent.parent


def relay_env(redis_url: str, admin_token: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "REDIS_URL": redis_url,
            "AGENT_RELAY_ADMIN_TOKEN": admin_token,
            "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class Proc:
    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.popen = subprocess.Popen(args, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


class ApiNode(Proc):
    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        super().__init__([sys.executable, "-m", "relay_api.cli", "serve", "--port", str(self.port)], env, log_path)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 20.0) -> ApiNode:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"api node exited:\n{self.log()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"api node not ready:\n{self.log()}")


class Worker(Proc):
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        super().__init__([sys.executable, "-m", "relay_api.cli", "worker"], env, log_path)


def passes(*procs: Worker) -> list[dict[str, Any]]:
    """Every `reaper.pass` line the workers logged, oldest first per worker."""
    found = []
    for proc in procs:
        for line in proc.log().splitlines():
            # Workers log JSON lines by default (relay_model/logs.py): the pass's fields are `data`.
            try:
                if line.startswith("{") and '"msg":"reaper.pass ' in line:
                    found.append(json.loads(line)["data"])
                elif " reaper.pass " in line:
                    found.append(json.loads(line.split(" reaper.pass ", 1)[1]))
            except ValueError:
                continue  # the last line of a worker killed while writing it
    return found


def worker_id(proc: Worker) -> str:
    match = re.search(r"worker (\S+) started", proc.log())
    assert match, proc.log()
    return match.group(1)


@contextmanager
def api_nodes(count: int, env: dict[str, str], tmp: Path) -> Iterator[list[ApiNode]]:
    nodes = [ApiNode(env, tmp / f"api-{i}.log") for i in range(count)]
    try:
        for node in nodes:
            node.wait_ready()
        yield nodes
    finally:
        for node in nodes:
            node.stop()


@contextmanager
def workers(count: int, env: dict[str, str], tmp: Path) -> Iterator[list[Worker]]:
    procs = [Worker(env, tmp / f"worker-{i}.log") for i in range(count)]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.stop()
