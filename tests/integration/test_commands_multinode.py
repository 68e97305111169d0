"""Commands across real processes: two API nodes race on one command; a worker times commands out."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, AUTH
from tests.procs import api_nodes, relay_env, workers

pytestmark = pytest.mark.multinode


def test_two_nodes_patching_one_command_exactly_one_wins(redis_url: str, tmp_path: Path) -> None:
    env = relay_env(redis_url, ADMIN_TOKEN)
    with api_nodes(2, env, tmp_path) as (a, b), ThreadPoolExecutor(max_workers=2) as pool:
        for round_ in range(15):
            r = httpx.post(
                a.url + "/api/commands",
                json={"type": "agent.spawn", "source": "system", "target": f"orch-{round_}"},
                headers=AUTH,
            )
            assert r.status_code == 201
            cmd_id = r.json()["id"]
            url_a = f"{a.url}/api/commands/{cmd_id}"
            url_b = f"{b.url}/api/commands/{cmd_id}"
            fa = pool.submit(httpx.patch, url_a, json={"status": "succeeded"}, headers=AUTH, timeout=10)
            fb = pool.submit(httpx.patch, url_b, json={"status": "failed"}, headers=AUTH, timeout=10)
            ra, rb = fa.result(), fb.result()
            assert sorted([ra.status_code, rb.status_code]) == [200, 409], (ra.text, rb.text)
            winner = ra if ra.status_code == 200 else rb
            loser = rb if winner is ra else ra
            final = winner.json()["status"]
            assert loser.json() == {"error": f"command is already {final}; a finished command cannot change"}
            # Both nodes read the winner's outcome.
            for url in (url_a, url_b):
                assert httpx.get(url, headers=AUTH).json()["status"] == final


def test_ttl_expiry_through_a_real_worker(redis_url: str, tmp_path: Path) -> None:
    from relay_worker.settings import WorkerSettings

    if not any("reap" in getattr(job, "name", "") for job in WorkerSettings.cron_jobs):
        pytest.skip("this tree's worker has no reaper cron job yet (it arrives with the workers issue)")
    env = relay_env(redis_url, ADMIN_TOKEN, AGENT_RELAY_REAP_INTERVAL_S="0.5")
    with api_nodes(1, env, tmp_path) as (node,), workers(1, env, tmp_path) as (worker,):
        r = httpx.post(
            node.url + "/api/commands",
            json={"type": "agent.restart", "source": "system", "target": "a1", "ttlMs": 300},
            headers=AUTH,
        )
        cmd_id = r.json()["id"]
        keep = httpx.post(
            node.url + "/api/commands",
            json={"type": "agent.restart", "source": "system", "target": "a1", "ttlMs": 3_600_000},
            headers=AUTH,
        ).json()["id"]
        deadline = time.monotonic() + 20
        status = "pending"
        while time.monotonic() < deadline:
            status = httpx.get(f"{node.url}/api/commands/{cmd_id}", headers=AUTH).json()["status"]
            if status == "timed_out":
                break
            time.sleep(0.2)
        assert status == "timed_out", worker.log()
        assert httpx.get(f"{node.url}/api/commands/{keep}", headers=AUTH).json()["status"] == "pending"


def test_target_waits_for_its_commands_on_sse(redis_url: str, tmp_path: Path) -> None:
    """A target listens on one node's SSE stream for `command.requested` about itself; another node queues."""
    env = relay_env(redis_url, ADMIN_TOKEN)
    with api_nodes(2, env, tmp_path) as (a, b):
        url = a.url + "/api/events?types=command.requested&agentId=me"
        with httpx.Client(timeout=httpx.Timeout(10.0)) as http, http.stream("GET", url, headers=AUTH) as stream:
            assert stream.status_code == 200
            for target in ("other", "me"):
                r = httpx.post(
                    b.url + "/api/commands",
                    json={"type": "agent.restart", "source": "system", "target": target},
                    headers=AUTH,
                )
                assert r.status_code == 201
            mine = r.json()["id"]
            seen = []
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    seen.append(json.loads(line[5:]))
                    break
        assert [(e["type"], e["subject"], e["data"]["command"]["target"]) for e in seen] == [
            ("command.requested", mine, "me")
        ]
