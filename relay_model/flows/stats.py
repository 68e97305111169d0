"""Relay-wide figures for `/metrics`: counts read from the indexes every domain keeps anyway.

One pipelined round trip of O(1) reads (SCARD/ZCARD/GET/HGETALL/XINFO STREAM): never a scan, so a
scrape costs the same with ten agents or a million. Every API node reads the same shared values;
`/metrics` of any node reports them (aggregate them with `max`, not `sum`, across pods).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from relay_model import keys
from relay_model.clock import now_ms
from relay_model.commands.commands import COMMAND_STATUSES
from relay_model.integrations.callbacks import DELIVERY_STATUSES
from relay_model.validation import AGENT_STATUSES


@dataclass(frozen=True, slots=True)
class RelayStats:
    agents_by_status: dict[str, int]
    messages_total: int
    commands_by_status: dict[str, int]
    callbacks_by_status: dict[str, int]
    automation_runs: int
    automation_runs_running: int
    # Entries ever added per event stream (Redis ≥ 7 reports it; older servers leave it out).
    events_total: dict[str, int] = field(default_factory=dict)
    reaper_last_run_ms: int | None = None
    reaper_duration_ms: float | None = None
    reaper_interval_s: float | None = None
    at_ms: int = 0


async def read_stats(redis: Redis) -> RelayStats:
    now = now_ms()
    pipe = redis.pipeline(transaction=False)
    for status in AGENT_STATUSES:
        pipe.scard(keys.agents_by("status", status))
    pipe.get(keys.message_seq())
    for status in COMMAND_STATUSES:
        pipe.zcard(keys.commands_by("status", status))
    for status in DELIVERY_STATUSES:
        pipe.zcard(keys.callbacks_by("status", status))
    pipe.zcard(keys.automation_runs())
    pipe.zcard(keys.automation_runs_running())
    pipe.hmget(keys.reaper_status(), ["lastRunAt", "durationMs", "intervalS"])
    for group in keys.EVENT_GROUPS:
        pipe.xinfo_stream(keys.events(group))
    replies = list(await pipe.execute(raise_on_error=False))
    for reply in replies[: -len(keys.EVENT_GROUPS)]:
        if isinstance(reply, Exception):
            raise reply

    def take(n: int) -> list[object]:
        head = replies[:n]
        del replies[:n]
        return head

    agents = take(len(AGENT_STATUSES))
    (messages,) = take(1)
    commands = take(len(COMMAND_STATUSES))
    callbacks = take(len(DELIVERY_STATUSES))
    runs, running, reaper = take(3)
    streams = take(len(keys.EVENT_GROUPS))
    events_total: dict[str, int] = {}
    for group, info in zip(keys.EVENT_GROUPS, streams, strict=True):
        if isinstance(info, ResponseError):
            events_total[group] = 0  # no stream yet: nothing published in that area
        elif isinstance(info, dict) and "entries-added" in info:
            events_total[group] = int(info["entries-added"])
    last_run, duration, interval = reaper if isinstance(reaper, list) else (None, None, None)
    return RelayStats(
        agents_by_status=dict(zip(AGENT_STATUSES, map(_int, agents), strict=True)),
        messages_total=_int(messages),
        commands_by_status=dict(zip(COMMAND_STATUSES, map(_int, commands), strict=True)),
        callbacks_by_status=dict(zip(DELIVERY_STATUSES, map(_int, callbacks), strict=True)),
        automation_runs=_int(runs),
        automation_runs_running=_int(running),
        events_total=events_total,
        reaper_last_run_ms=int(last_run) if last_run else None,
        reaper_duration_ms=float(duration) if duration else None,
        reaper_interval_s=float(interval) if interval else None,
        at_ms=now,
    )


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | str | bytes) and value not in ("", b"") else 0
