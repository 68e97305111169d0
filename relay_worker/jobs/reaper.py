"""The periodic reaper: a tick several times a second, one pass per `AGENT_RELAY_REAP_INTERVAL_S` slot.

The pass itself is `relay_model.relay.reap_once`, the same code `POST /api/system/reap` runs. The
worker's passes write the "Maintenance reaper run" activity only when they released or reaped
something (an entry every few seconds saying "0 …" would bury the feed); every pass is logged as
one structured `reaper.pass` line and recorded for `/api/health`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import msgspec

from relay_model.clock import now_ms
from relay_model.reaper import PassReport
from relay_model.relay import Relay, reap_once
from relay_worker.slots import IntervalSlot, run_interval_slot, tick_time

log = logging.getLogger("relay.worker.reaper")

JOB = "reaper"
# Ids per list in the log line; the counts are always complete.
LOG_IDS = 50

_json = msgspec.json.Encoder()


async def reaper_tick(ctx: dict[str, Any]) -> bool:
    """arq cron entry point; True when this tick ran its slot's pass."""
    relay: Relay = ctx["relay"]
    worker_id: str = ctx["worker_id"]
    ran, _ = await run_interval_slot(
        relay.redis,
        worker_id,
        tick_time(ctx),
        job=JOB,
        interval_s=relay.settings.reap_interval_s,
        fn=lambda slot: reaper_pass(relay, worker_id, slot),
    )
    return ran


async def reaper_pass(relay: Relay, worker_id: str, slot: IntervalSlot) -> PassReport:
    started = now_ms()
    clock = time.perf_counter()
    report = await reap_once(relay, now=started, audit=True, audit_idle=False)
    duration_ms = (time.perf_counter() - clock) * 1000
    counts = report.counts()
    await relay.maintenance.record_reaper_run(
        worker_id=worker_id,
        slot=slot.index,
        started_at=started,
        duration_ms=duration_ms,
        interval_s=relay.settings.reap_interval_s,
        counts=counts,
        touched=report.touched(),
    )
    # Idle passes log one short line; a pass that changed something lists what (ids capped).
    line: dict[str, Any] = {
        "slot": slot.index,
        "worker": worker_id,
        "startedAt": started,
        "durationMs": round(duration_ms, 2),
        "touched": report.touched(),
    }
    if report.touched():
        line["counts"] = {name: count for name, count in counts.items() if count}
        line.update({name: ids[:LOG_IDS] for name, ids in report.ids().items() if ids})
    log.info("reaper.pass %s", _json.encode(line).decode(), extra={"relay_event": "reaper.pass", "relay": line})
    return report
