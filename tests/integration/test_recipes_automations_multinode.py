"""Real processes on one Redis: a recipe step advances once when two nodes race; each cron slot runs once
with two workers; an event on one node triggers an automation once; disabling stops it everywhere."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import ADMIN_TOKEN, AUTH, DataTier
from tests.procs import api_nodes, relay_env, workers
from tests.waiting import wait_until_async

pytestmark = pytest.mark.multinode

JOIN = """
name: join
roles:
  a: {provider: codex}
  b: {provider: claude}
steps:
  - {id: spawn-a, role: a, action: spawn}
  - {id: spawn-b, role: b, action: spawn}
  - {id: both, role: a, action: prompt, needs: [spawn-a, spawn-b], prompt: go}
"""


async def test_step_advances_once_when_two_nodes_race(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "join.yaml").write_text(JOIN)
    env = relay_env(redis_url, ADMIN_TOKEN, AGENT_RELAY_RECIPES_DIR=str(recipes))
    with api_nodes(2, env, tmp_path) as nodes:
        n0, n1 = (n.url for n in nodes)
        async with httpx.AsyncClient(headers=AUTH, timeout=20) as http:
            await http.post(n0 + "/api/orchestrators", json={"id": "o1", "hostname": "h"})
            starts = [(await http.post(n0 + "/api/recipes/start", json={"name": "join"})).json() for _ in range(8)]
            patches = []
            for started in starts:
                spawn_a, spawn_b = sorted(started["commands"], key=lambda c: c["params"]["role"])
                # The two needs of `both` finish at once on different nodes; spawn-a is also patched twice.
                patches += [
                    http.patch(f"{n0}/api/commands/{spawn_a['id']}", json={"status": "succeeded"}),
                    http.patch(f"{n1}/api/commands/{spawn_a['id']}", json={"status": "succeeded"}),
                    http.patch(f"{n1}/api/commands/{spawn_b['id']}", json={"status": "succeeded"}),
                ]
            codes = [r.status_code for r in await asyncio.gather(*patches)]
            # Of each double patch one wins (200) and the other finds the command final (409).
            assert sorted(codes) == [200] * 16 + [409] * 8
            prompts = (await http.get(n1 + "/api/commands?type=agent.prompt&limit=500")).json()
            for started in starts:
                iid = started["instance"]["id"]
                mine = [c for c in prompts if c["correlationId"] == iid]
                assert len(mine) == 1, mine
                instance = (await http.get(f"{n1}/api/recipes/instances/{iid}")).json()
                both = next(s for s in instance["steps"] if s["id"] == "both")
                assert both["status"] == "running" and both["commandIds"] == [mine[0]["id"]]
                await http.patch(f"{n1}/api/commands/{mine[0]['id']}", json={"status": "succeeded"})
                for node in (n0, n1):
                    assert (await http.get(f"{node}/api/recipes/instances/{iid}")).json()["status"] == "succeeded"


async def test_two_workers_fire_each_slot_once_and_events_once(
    tier_redis: Redis, tier: DataTier, tmp_path: Path
) -> None:
    # On a cluster tier the workers' queue is the plain Redis (AGENT_RELAY_QUEUE_REDIS_URL).
    env = tier.env(ADMIN_TOKEN)
    with api_nodes(2, env, tmp_path) as nodes:
        n0, n1 = (n.url for n in nodes)
        async with httpx.AsyncClient(headers=AUTH, timeout=20) as http:
            for agent in ("sink", "oncall"):
                await http.post(n0 + "/api/agents", json={"id": agent})
            every_second = (
                await http.post(
                    n0 + "/api/automations",
                    json={
                        "name": "tick",
                        "trigger": {"type": "schedule", "cron": "* * * * * *"},
                        "action": {"type": "message", "message": {"from": "system", "to": "sink", "body": "tick"}},
                    },
                )
            ).json()
            on_critical = (
                await http.post(
                    n0 + "/api/automations",
                    json={
                        "name": "page",
                        "trigger": {"type": "event", "event": "task.created", "filter": {"severity": "critical"}},
                        "action": {"type": "message", "message": {"from": "system", "to": "oncall", "body": "page"}},
                    },
                )
            ).json()
            with workers(2, env, tmp_path):
                # The task is created on the other node while both workers run.
                await http.post(n1 + "/api/tasks", json={"title": "db down", "severity": "critical"})
                await http.post(n1 + "/api/tasks", json={"title": "minor", "severity": "info"})

                async def runs(automation_id: str) -> list[dict[str, Any]]:
                    r = await http.get(f"{n1}/api/automation-runs?automationId={automation_id}&limit=500")
                    return r.json()  # type: ignore[no-any-return]

                async def ticked() -> bool:
                    return len(await runs(every_second["id"])) >= 8

                await wait_until_async(ticked, "eight ticks", timeout=30, every=0.2)
                await wait_until_async(lambda: runs(on_critical["id"]), "the event automation's run", every=0.2)
                r = await http.patch(f"{n1}/api/automations/{every_second['id']}", json={"enabled": False})
                assert r.json()["nextRunAt"] is None
                stopped_at = len(await runs(every_second["id"]))
                await asyncio.sleep(2.5)
                ticks = await runs(every_second["id"])
            # Disabling stopped it on every worker: at most a run already in flight finished after it.
            assert len(ticks) <= stopped_at + 1
            slots = [r["scheduledFor"] for r in ticks]
            assert len(slots) == len(set(slots)), "a slot ran twice"
            assert all(s % 1000 == 0 for s in slots)
            assert all(r["status"] == "succeeded" and r["trigger"] == "schedule" for r in ticks)
            inbox = (await http.get(n0 + "/api/messages?for=sink&limit=500")).json()
            assert len(inbox) == len(ticks)
            paged = await runs(on_critical["id"])
            assert len(paged) == 1 and paged[0]["eventType"] == "task.created" and paged[0]["status"] == "succeeded"
            assert [m["body"] for m in (await http.get(n0 + "/api/messages?for=oncall")).json()] == ["page"]
