"""Per-worker liveness on real `relay worker` processes: `relay worker --check` and `/api/health`.

Two workers, each with its own state file (as two pods would have). Both checks pass and health
counts two. A worker that hangs (SIGSTOP: its process exists, its loop no longer runs) fails its
check once its key expires and drops out of health; a worker killed with SIGKILL fails its check at
once (its process is gone). The check fails within `WORKER_ALIVE_S` (10 s) of a worker dying.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from relay_model.maintenance import WORKER_ALIVE_S as ALIVE_S
from tests.conftest import ADMIN_TOKEN, AUTH
from tests.procs import ROOT, Worker, api_nodes, relay_env
from tests.waiting import wait_until

pytestmark = pytest.mark.multinode


def check(env: dict[str, str], state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relay_api.cli", "worker", "--check", "--state-file", str(state)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_worker_check_and_health_follow_each_worker(redis_url: str, tmp_path: Path) -> None:
    env = relay_env(redis_url, ADMIN_TOKEN)
    states = [tmp_path / "w0.json", tmp_path / "w1.json"]
    with api_nodes(1, env, tmp_path) as (node,):
        procs = [
            Worker({**env, "AGENT_RELAY_WORKER_STATE_FILE": str(s)}, tmp_path / f"w{i}.log") for i, s in enumerate(states)
        ]

        def health_workers() -> dict[str, object]:
            workers: dict[str, object] = httpx.get(node.url + "/api/health", headers=AUTH, timeout=5).json()["workers"]
            return workers

        try:
            assert check(env, tmp_path / "none.json").returncode == 1  # no worker ever started there
            wait_until(lambda: all(s.exists() for s in states), "both workers to start", timeout=30, every=0.2)
            wait_until(lambda: health_workers()["alive"] == 2, "health to count two workers", timeout=30, every=0.2)
            for state in states:
                done = check(env, state)
                assert done.returncode == 0, done.stderr
                assert "alive" in done.stdout

            hung, killed = procs
            hung.popen.send_signal(signal.SIGSTOP)
            wait_until(lambda: check(env, states[0]).returncode == 1, "the hung worker's check to fail", timeout=ALIVE_S + 20, every=0.2)
            assert "no heartbeat" in check(env, states[0]).stderr
            assert check(env, states[1]).returncode == 0
            wait_until(lambda: health_workers()["alive"] == 1, "health to drop the hung worker", timeout=10, every=0.2)

            killed.popen.kill()
            killed.popen.wait()
            done = check(env, states[1])
            assert done.returncode == 1 and "is gone" in done.stderr
            wait_until(lambda: health_workers()["alive"] == 0, "health to drop the killed worker", timeout=ALIVE_S + 10, every=0.2)
        finally:
            procs[0].popen.send_signal(signal.SIGCONT)
            for proc in procs:
                proc.stop()
