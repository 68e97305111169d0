"""The reaper runner: one pass over everything that expired, shared by the worker and `POST /api/system/reap`.

What a pass does, and in which order, is one list: `relay_model.relay.REAP_STEPS`. Each step lives in
the package of its domain (`<package>/reaper.py`) and names what it uses of the relay as a Protocol;
this module holds what they share: the report, `ReapStep`, `drain` and `run_pass`.

- The order follows the seed's `postSystemReap`: message claims, task claims, command ttl, agents
  (stale, then offline), orphaned tasks (after agents went offline, so their tasks are freed in the
  same pass), orchestrators, pair timeouts, pool slots (after agents went offline), then the rest.
- A step reads only what is due (deadlines live in sorted sets: `ZRANGEBYSCORE … LIMIT`), changes
  each item with a compare-and-set Lua script that re-checks the item's own record, and appends the
  ids it changed to the report. `drain` loops batches until one comes back short (at most
  `DRAIN_MAX_BATCHES`), so the cost of a pass grows with what expired, not with what exists, is
  bounded after an outage, and no single Lua call blocks Redis for long. (The scan itself is
  `reap_due` in lua/_prelude.lua.)
- Every transition is atomic per item and idempotent, so two passes running at once (two workers,
  or a worker and the API) never act on one expiry twice, and a pass killed midway leaves only whole
  transitions behind; the next pass does the rest.
- A step that fails is logged and the others still run.
- Retention steps (messages, activity, final tasks) use `trim`: the same batches, on an index in
  age order, deleting what is past the age cap or beyond the count cap. The activity feed is
  plumbing, so its step (`trim_activity`) lives here.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from relay_model.activity import ActivityStore, state_activity
from relay_model.clock import now_ms
from relay_model.connection import is_outage
from relay_model.settings import Settings

log = logging.getLogger("relay.reaper")

# Test-only hook: seconds to sleep after each batch, so a multi-process test can kill a worker in
# the middle of a pass deterministically. Unset (0) everywhere else.
_TEST_BATCH_PAUSE_S = float(os.environ.get("AGENT_RELAY_TEST_REAP_BATCH_PAUSE_S") or 0)
# Batches one step runs per pass (with the default batch of 200: 10,000 transitions).
DRAIN_MAX_BATCHES = 50


class ReapReport(msgspec.Struct, kw_only=True, rename="camel"):
    """The seed's response shape for `POST /api/system/reap`."""

    reaped_agent_ids: list[str] = msgspec.field(default_factory=list)
    reaped_orchestrator_ids: list[str] = msgspec.field(default_factory=list)
    released_message_ids: list[int] = msgspec.field(default_factory=list)
    released_task_ids: list[int] = msgspec.field(default_factory=list)
    released_orphaned_task_ids: list[int] = msgspec.field(default_factory=list)
    expired_command_ids: list[str] = msgspec.field(default_factory=list)

    def summary(self) -> str:
        """The seed's activity body text."""
        return (
            f"{len(self.reaped_agent_ids)} stale agent(s), {len(self.reaped_orchestrator_ids)} stale orchestrator(s), "
            f"{len(self.released_message_ids)} message claim(s), {len(self.released_task_ids)} task claim(s), "
            f"{len(self.expired_command_ids)} command(s)"
        )

    def empty(self) -> bool:
        return not any(getattr(self, name) for name in ReapReport.__struct_fields__)


class PassReport(ReapReport, kw_only=True, rename="camel"):
    """What one pass did: the seed's report plus the transitions the seed's response has no field for."""

    stale_agent_ids: list[str] = msgspec.field(default_factory=list)
    # Retention: what the caps deleted (messages, activity entries, final tasks).
    trimmed_message_ids: list[int] = msgspec.field(default_factory=list)
    trimmed_activity_ids: list[int] = msgspec.field(default_factory=list)
    trimmed_task_ids: list[int] = msgspec.field(default_factory=list)

    def seed(self) -> ReapReport:
        """The part the API answers with, in the seed's shape."""
        return ReapReport(**{name: getattr(self, name) for name in ReapReport.__struct_fields__})

    def touched(self) -> bool:
        return any(getattr(self, name) for name in PassReport.__struct_fields__)

    def ids(self) -> dict[str, list[Any]]:
        """Every list by its wire (camelCase) name."""
        built: dict[str, list[Any]] = msgspec.to_builtins(self)
        return built

    def counts(self) -> dict[str, int]:
        return {name: len(value) for name, value in self.ids().items()}


Context = TypeVar("Context")


@dataclass(frozen=True, slots=True)
class ReapStep(Generic[Context]):
    """One step of a pass: `run(relay, now, report)`. A step may annotate its report as ReapReport
    or PassReport, and its relay as the Protocol of what it uses."""

    name: str
    run: Callable[[Context, int, PassReport], Awaitable[None]]


async def drain(
    run_batch: Callable[[int], Awaitable[list[str]]], batch_size: int, *, max_batches: int = DRAIN_MAX_BATCHES
) -> list[str]:
    """Run a batch script until a batch comes back short, at most `max_batches` times; return the ids it changed.

    `run_batch(limit)` answers `[examined, id, …]` (the shape every reaper script returns): the number
    of due index entries it looked at, then the ids it transitioned. Each examined entry leaves the
    due range (transitioned, re-scored or dropped), so the loop ends; the cap bounds one pass after a
    long outage (the next pass goes on where this one stopped).
    """
    changed: list[str] = []
    for _ in range(max_batches):
        result = await run_batch(batch_size)
        changed.extend(str(item) for item in result[1:])
        if int(result[0]) < batch_size:
            break
        if _TEST_BATCH_PAUSE_S:
            await asyncio.sleep(_TEST_BATCH_PAUSE_S)
    return changed


class TrimBatch(Protocol):
    async def __call__(self, *, cutoff: int, keep: int, limit: int) -> list[str]: ...


async def trim(trim_batch: TrimBatch, *, now: int, retention_s: float, keep: int, batch_size: int) -> list[int]:
    """Retention: run `trim_batch` (a store's, answering `[examined, id, …]`) until what is older than
    `retention_s` (0 = no age cap) and beyond the newest `keep` (0 = no count cap) is gone, or the
    pass's batch cap is reached (the next pass goes on); return the ids deleted."""
    if retention_s <= 0 and keep <= 0:
        return []
    cutoff = now - int(retention_s * 1000) if retention_s > 0 else 0
    deleted = await drain(lambda limit: trim_batch(cutoff=cutoff, keep=keep, limit=limit), batch_size)
    return [int(item) for item in deleted]


class ActivityRetention(Protocol):
    """What `trim_activity` uses of the relay."""

    settings: Settings
    activity: ActivityStore


async def trim_activity(relay: ActivityRetention, now: int, report: PassReport) -> None:
    """Activity entries older than `AGENT_RELAY_ACTIVITY_RETENTION_S` or beyond the newest
    `AGENT_RELAY_ACTIVITY_MAX` are deleted, with their index entries."""
    settings = relay.settings
    report.trimmed_activity_ids.extend(
        await trim(
            relay.activity.trim_batch,
            now=now,
            retention_s=settings.activity_retention_s,
            keep=settings.activity_max,
            batch_size=settings.reap_batch_size,
        )
    )


async def run_pass(
    relay: Context,
    steps: Sequence[ReapStep[Context]],
    activity: ActivityStore,
    *,
    now: int | None = None,
    audit: bool = True,
    audit_idle: bool = True,
) -> PassReport:
    """Run every step once, in order.

    `audit` writes the seed's "Maintenance reaper run" activity entry; with `audit_idle=False` it is
    written only when the pass released or reaped something (the worker's periodic passes: an entry
    every few seconds saying "0 …" would bury the feed).
    """
    at = now if now is not None else now_ms()
    report = PassReport()
    for step in steps:
        try:
            await step.run(relay, at, report)
        except Exception as exc:
            # A failing step must not keep the later ones from running, but with Redis away none of
            # them can: the pass ends and the worker logs the outage once.
            if is_outage(exc):
                raise
            log.exception("reaper step %s failed", step.name)
    if audit and (audit_idle or not report.empty()):
        await activity.add(
            state_activity(
                "Maintenance reaper run",
                client_id=f"server-system-reap-{at}",
                body=report.summary(),
                icon="ti-broom",
                view="activity",
            )
        )
    return report
