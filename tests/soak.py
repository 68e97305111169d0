"""A fault soak on real processes: two API nodes, two workers, one Redis (AOF fsynced on every write),
load on all of it, and kill -9 of nodes, workers and Redis on a schedule. It counts what a user
would call loss or duplication:

- **messages**: every message acknowledged with a 201 is stored (same body) — `lost`; no request
  was stored twice — `stored_twice`;
- **streams**: SSE clients that reconnect (to the other node) with `Last-Event-ID` after every cut
  see each acknowledged message exactly once — `missing`, `duplicated`;
- **claims**: agents racing for one claimable message on both nodes — never two winners;
- **cron**: an automation firing every second and the reaper's slots — no slot runs twice;
- **processes**: no node or worker exits unless the soak killed it.

`tests/multinode/test_soak.py` runs a short one in the suite; `python -m bench.soak` the long one.
Everything is driven from one asyncio loop; starting, killing and waiting for processes runs in
threads so the load and the streams never stall behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from relay_api.embedded import free_port
from relay_model.connection import connect
from relay_model.relay import Relay
from relay_model.settings import Settings
from tests.conftest import ADMIN_TOKEN, AUTH
from tests.faults import KillableRedis
from tests.procs import ApiNode, Proc, Worker, passes, relay_env, worker_id

SINK = "soak-sink"
POOL = "soak-pool"
CRON_SINK = "soak-cron"
BODY_PREFIX = "soak:"


@dataclass
class SoakPlan:
    duration_s: float = 60.0
    node_kill_every_s: float = 15.0
    worker_kill_every_s: float = 20.0
    # Redis is killed once, at this fraction of the run (None: never).
    redis_kill_at: float | None = 0.5
    redis_down_s: float = 2.0
    restart_after_s: float = 1.0
    senders: int = 6
    streams: int = 2
    claimers: int = 6
    race_every_s: float = 1.0
    settle_s: float = 20.0


@dataclass
class StreamCount:
    seen: int = 0
    missing: int = 0
    duplicated: int = 0
    reconnects: int = 0


@dataclass
class SoakReport:
    duration_s: float = 0.0
    node_kills: int = 0
    worker_kills: int = 0
    redis_kills: int = 0
    unexpected_exits: list[str] = field(default_factory=list)
    send_attempts: int = 0
    acknowledged: int = 0
    lost: int = 0
    stored_twice: int = 0
    not_in_inbox: int = 0
    streams: list[StreamCount] = field(default_factory=list)
    races: int = 0
    double_claims: int = 0
    races_unsettled: int = 0
    cron_runs: int = 0
    cron_catch_ups: int = 0
    cron_slots_twice: int = 0
    reaper_passes: int = 0
    reaper_slots_twice: int = 0
    workers_alive_at_end: int = 0

    @property
    def clean(self) -> bool:
        return (
            self.lost == 0
            and self.stored_twice == 0
            and self.not_in_inbox == 0
            and all(s.missing == 0 and s.duplicated == 0 for s in self.streams)
            and self.double_claims == 0
            and self.cron_slots_twice == 0
            and self.reaper_slots_twice == 0
            and not self.unexpected_exits
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "clean": self.clean}


class Cluster:
    """The processes, each restartable on its port (nodes) or as a fresh worker."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.redis = KillableRedis(tmp / "redis")
        self.env: dict[str, str] = {}
        self.ports = [free_port(), free_port()]
        self.nodes: list[ApiNode] = []
        self.workers: list[Worker] = []
        self.retired: list[Proc] = []  # killed on purpose; their logs are still read
        self._seq = itertools.count()

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def start(self) -> None:
        self.redis.start()
        self.env = relay_env(
            self.redis.url,
            ADMIN_TOKEN,
            AGENT_RELAY_REAP_INTERVAL_S="0.5",
            AGENT_RELAY_EVENT_RETENTION="1000000",
            AGENT_RELAY_SSE_MAX_PER_TOKEN="0",
            AGENT_RELAY_SSE_KEEPALIVE_S="1",
            AGENT_RELAY_AUTOMATION_MISFIRE_GRACE_MS="3000",
        )
        self.nodes = [self._node(port) for port in self.ports]
        for node in self.nodes:
            node.wait_ready(30)
        self.workers = [self._worker() for _ in range(2)]

    def _node(self, port: int) -> ApiNode:
        return ApiNode(self.env, self.tmp / f"api-{port}-{next(self._seq)}.log", port=port)

    def _worker(self) -> Worker:
        return Worker(self.env, self.tmp / f"worker-{next(self._seq)}.log")

    def kill_node(self, index: int, restart_after_s: float) -> None:
        node = self.nodes[index]
        node.kill()
        self.retired.append(node)
        time.sleep(restart_after_s)
        self.nodes[index] = self._node(self.ports[index])
        self.nodes[index].wait_ready(60)

    def kill_worker(self, index: int, restart_after_s: float) -> None:
        worker = self.workers[index]
        worker.kill()
        self.retired.append(worker)
        time.sleep(restart_after_s)
        self.workers[index] = self._worker()

    def kill_redis(self, down_s: float) -> None:
        self.redis.kill9()
        time.sleep(down_s)
        self.redis.restart()

    def unexpected_exits(self) -> list[str]:
        return [f"{p.log_path.name}: exit {p.popen.returncode}" for p in (*self.nodes, *self.workers) if not p.alive()]

    def all_workers(self) -> list[Worker]:
        return [p for p in (*self.retired, *self.workers) if isinstance(p, Worker)]

    def stop(self) -> None:
        for proc in (*self.nodes, *self.workers):
            proc.stop()
        for proc in self.retired:
            proc.stop()  # closes the log file
        self.redis.stop()


class ResumingStream:
    """An SSE client that reconnects after every cut, to the next node, with Last-Event-ID."""

    def __init__(self, urls: list[str], index: int) -> None:
        self.urls = urls
        self.turn = index
        self.last_id: str | None = None
        self.seen: Counter[int] = Counter()
        self.reconnects = -1
        self.stopped = False

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=15.0)) as http:
            while not self.stopped:
                self.reconnects += 1
                url = self.urls[self.turn % len(self.urls)] + "/api/events"
                self.turn += 1
                headers = dict(AUTH)
                if self.last_id:
                    headers["Last-Event-ID"] = self.last_id
                with contextlib.suppress(httpx.HTTPError, OSError):
                    async with http.stream("GET", url, headers=headers, params={"types": "message.created"}) as r:
                        if r.status_code == 200:
                            await self._read(r)
                await asyncio.sleep(0.2)

    async def _read(self, response: httpx.Response) -> None:
        event_id: str | None = None
        data: str | None = None
        async for line in response.aiter_lines():
            if self.stopped:
                return
            if line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif line == "" and data is not None:
                message = json.loads(data).get("data", {}).get("message", {})
                if message.get("to") == SINK:
                    self.seen[int(message["id"])] += 1
                self.last_id = event_id or self.last_id
                event_id = data = None


class Soak:
    def __init__(self, plan: SoakPlan, tmp: Path) -> None:
        self.plan = plan
        self.cluster = Cluster(tmp)
        self.report = SoakReport()
        self.acked: dict[int, str] = {}
        self.stopping = False
        self._bodies = itertools.count()

    def node_url(self) -> str:
        return random.choice(self.cluster.urls)

    async def run(self) -> SoakReport:
        await asyncio.to_thread(self.cluster.start)
        try:
            async with httpx.AsyncClient(headers=AUTH, timeout=10) as http:
                await self._setup(http)
                streams = [ResumingStream(self.cluster.urls, i) for i in range(self.plan.streams)]
                stream_tasks = [asyncio.create_task(s.run()) for s in streams]
                await asyncio.sleep(1.0)  # the streams are connected before the first message
                started = time.monotonic()
                load = [asyncio.create_task(self._sender(http)) for _ in range(self.plan.senders)]
                load.append(asyncio.create_task(self._racer(http)))
                await self._faults(started)
                self.stopping = True
                await asyncio.gather(*load)
                self.report.duration_s = round(time.monotonic() - started, 1)
                await self._settle(streams)
                for s in streams:
                    s.stopped = True
                for task in stream_tasks:
                    task.cancel()
                await asyncio.gather(*stream_tasks, return_exceptions=True)
                self.report.unexpected_exits = self.cluster.unexpected_exits()
                await self._count(http, streams)
        finally:
            await asyncio.to_thread(self.cluster.stop)
        return self.report

    async def _setup(self, http: httpx.AsyncClient) -> None:
        url = self.cluster.urls[0]
        for agent in (SINK, POOL, CRON_SINK):
            (await http.post(url + "/api/agents", json={"id": agent})).raise_for_status()
        created = await http.post(
            url + "/api/automations",
            json={
                "name": "soak-cron",
                "trigger": {"type": "schedule", "cron": "* * * * * *"},
                "action": {"type": "message", "message": {"from": "system", "to": CRON_SINK, "body": "tick"}},
            },
        )
        created.raise_for_status()
        self.automation_id = created.json()["id"]

    async def _faults(self, started: float) -> None:
        plan = self.plan
        events: list[tuple[float, str, int]] = []
        events += [(t, "node", i) for i, t in enumerate(_every(plan.node_kill_every_s, plan.duration_s))]
        events += [(t, "worker", i) for i, t in enumerate(_every(plan.worker_kill_every_s, plan.duration_s))]
        if plan.redis_kill_at is not None:
            events.append((plan.duration_s * plan.redis_kill_at, "redis", 0))
        for at, kind, n in sorted(events):
            await asyncio.sleep(max(0.0, started + at - time.monotonic()))
            if kind == "node":
                await asyncio.to_thread(self.cluster.kill_node, n % 2, plan.restart_after_s)
                self.report.node_kills += 1
            elif kind == "worker":
                await asyncio.to_thread(self.cluster.kill_worker, n % 2, plan.restart_after_s)
                self.report.worker_kills += 1
            else:
                await asyncio.to_thread(self.cluster.kill_redis, plan.redis_down_s)
                self.report.redis_kills += 1
        await asyncio.sleep(max(0.0, started + plan.duration_s - time.monotonic()))

    async def _sender(self, http: httpx.AsyncClient) -> None:
        while not self.stopping:
            body = f"{BODY_PREFIX}{next(self._bodies)}"
            self.report.send_attempts += 1
            try:
                r = await http.post(self.node_url() + "/api/messages", json={"from": "soak", "to": SINK, "body": body})
            except httpx.HTTPError:
                await asyncio.sleep(0.05)
                continue
            if r.status_code == 201:
                self.acked[int(r.json()["id"])] = body
            else:
                await asyncio.sleep(0.05)  # 503 while Redis is away

    async def _racer(self, http: httpx.AsyncClient) -> None:
        while not self.stopping:
            await asyncio.sleep(self.plan.race_every_s)
            try:
                r = await http.post(
                    self.cluster.urls[0] + "/api/messages", json={"from": "soak", "to": POOL, "claimable": True}
                )
            except httpx.HTTPError:
                continue
            if r.status_code != 201:
                continue
            message_id = r.json()["id"]

            async def claim(k: int, mid: int = message_id) -> str | None:
                url = self.cluster.urls[k % 2] + f"/api/messages/{mid}/claim"
                try:
                    got = await http.post(url, json={"agentId": f"claimer-{k}", "ttlMs": 3_600_000})
                except httpx.HTTPError:
                    return None
                return f"claimer-{k}" if got.status_code == 200 else None

            winners = {w for w in await asyncio.gather(*(claim(k) for k in range(self.plan.claimers))) if w}
            self.report.races += 1
            if len(winners) > 1:
                self.report.double_claims += 1
            elif not winners:
                self.report.races_unsettled += 1  # every claim hit a killed node or a Redis outage

    async def _settle(self, streams: list[ResumingStream]) -> None:
        """Give the streams time to catch up on the last messages (bounded)."""
        deadline = time.monotonic() + self.plan.settle_s
        while time.monotonic() < deadline:
            if all(set(self.acked) <= set(s.seen) for s in streams):
                break
            await asyncio.sleep(0.2)

    async def _count(self, http: httpx.AsyncClient, streams: list[ResumingStream]) -> None:
        report = self.report
        report.acknowledged = len(self.acked)
        redis = connect(self.cluster.redis.url)
        try:
            relay = Relay(redis, Settings(redis_url=self.cluster.redis.url))
            latest = await relay.messages.latest_id()
            bodies: Counter[str] = Counter()
            stored: dict[int, str] = {}
            for start in range(1, latest + 1, 500):
                batch = await asyncio.gather(
                    *(relay.messages.get(i) for i in range(start, min(latest, start + 499) + 1))
                )
                for message in batch:
                    if message is not None and message.body.startswith(BODY_PREFIX):
                        bodies[message.body] += 1
                        stored[message.id] = message.body
            report.lost = sum(1 for mid, body in self.acked.items() if stored.get(mid) != body)
            report.stored_twice = sum(n - 1 for n in bodies.values() if n > 1)
            # Delivered: each one is in the recipient's inbox too.
            inbox: set[int] = set()
            since = 0
            while page := await relay.messages.inbox(SINK, since=since, limit=500):
                inbox.update(m.id for m in page)
                since = page[-1].id
            report.not_in_inbox = len(set(self.acked) - inbox)
        finally:
            await redis.aclose()
        acked = set(self.acked)
        for s in streams:
            report.streams.append(
                StreamCount(
                    seen=sum(1 for mid in s.seen if mid in acked),
                    missing=len(acked - set(s.seen)),
                    duplicated=sum(n - 1 for mid, n in s.seen.items() if mid in acked and n > 1),
                    reconnects=s.reconnects,
                )
            )
        url = self.cluster.urls[0]
        runs = (
            await http.get(url + "/api/automation-runs", params={"automationId": self.automation_id, "limit": 500})
        ).json()
        slots = Counter(r["scheduledFor"] for r in runs)
        report.cron_runs = len(runs)
        report.cron_catch_ups = sum(1 for r in runs if r.get("catchUp"))
        report.cron_slots_twice = sum(n - 1 for n in slots.values() if n > 1)
        reaper = Counter(p["slot"] for p in passes(*self.cluster.all_workers()))
        report.reaper_passes = sum(reaper.values())
        report.reaper_slots_twice = sum(n - 1 for n in reaper.values() if n > 1)
        # The workers running now, each counted by health (killed ones drop out within 10 s).
        health = (await http.get(url + "/api/health")).json()
        current = {worker_id(w) for w in self.cluster.workers if "started" in w.log()}
        report.workers_alive_at_end = len(current & set(health["workers"]["ids"]))


def _every(period_s: float, duration_s: float) -> list[float]:
    return [period_s * k for k in range(1, int(duration_s / period_s) + 1) if period_s * k < duration_s]


def run_soak(plan: SoakPlan, tmp: Path) -> SoakReport:
    return asyncio.run(Soak(plan, tmp).run())
