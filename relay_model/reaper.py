"""The reaper: one pass over everything that expired, shared by the worker and `POST /api/system/reap`.

This module is the one place that knows what a pass does: `STEPS`, the registry of steps.

- A domain adds its expiry with `@register_step("<area>.<what>", order=N)` in its own module, and
  `relay.py` imports that module, so every process that builds a `Relay` runs the same steps.
- Steps run in `order` (then registration order). Bands, following the seed's `postSystemReap`:
  10 message claims, 20 task claims, 30 command ttl, 40 agents (stale, then offline), 45 orphaned
  tasks (after agents went offline, so their tasks are freed in the same pass), 50 orchestrators,
  60 pair timeouts, 90 pool bindings (after agents went offline), 100 the rest.
- A step reads only what is due (deadlines live in sorted sets: `ZRANGEBYSCORE … LIMIT`), changes
  each item with a compare-and-set Lua script that re-checks the item's own record, and appends the
  ids it changed to the report. `drain` loops batches until one comes back short (at most
  `DRAIN_MAX_BATCHES`), so the cost of a pass grows with what expired, not with what exists, is
  bounded after an outage, and no single Lua call blocks Redis for long.
- Every transition is atomic per item and idempotent, so two passes running at once (two workers,
  or a worker and the API) never act on one expiry twice, and a pass killed midway leaves only whole
  transitions behind; the next pass does the rest.
- A step that fails is logged and the others still run.

Registered today: `bus_reaper.py` (message claims, agents stale → offline), `commands.py` (ttl expiry,
purge of old final commands), `orchestrators.py` (stale → offline), `work_reaper.py` (task claims,
orphaned tasks, pair timeouts, pool slots), `automations.py` (abandoned runs), `recipe_runner.py`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from .activity import ActivityInput
from .clock import now_ms

if TYPE_CHECKING:
    from .relay import Relay

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

    def seed(self) -> ReapReport:
        """The part the API answers with, in the seed's shape."""
        return ReapReport(**{name: getattr(self, name) for name in ReapReport.__struct_fields__})

    def touched(self) -> bool:
        return bool(self.stale_agent_ids) or not self.empty()

    def ids(self) -> dict[str, list[Any]]:
        """Every list by its wire (camelCase) name."""
        built: dict[str, list[Any]] = msgspec.to_builtins(self)
        return built

    def counts(self) -> dict[str, int]:
        return {name: len(value) for name, value in self.ids().items()}


# Steps may annotate their report parameter as ReapReport or PassReport; both are accepted.
ReapStepFn = Callable[["Relay", int, PassReport], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ReapStep:
    name: str
    run: ReapStepFn
    order: int = 100


STEPS: list[ReapStep] = []


def register_step(name: str, *, order: int = 100) -> Callable[[ReapStepFn], ReapStepFn]:
    """Decorator: add a step to every reaper pass (once, even if the module is imported again)."""

    def wrap(fn: ReapStepFn) -> ReapStepFn:
        if not any(step.name == name for step in STEPS):
            STEPS.append(ReapStep(name, fn, order))
            STEPS.sort(key=lambda step: step.order)  # stable: equal orders keep registration order
        return fn

    return wrap


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


async def reap_once(relay: Relay, *, now: int | None = None, audit: bool = True, audit_idle: bool = True) -> PassReport:
    """Run every step once.

    `audit` writes the seed's "Maintenance reaper run" activity entry; with `audit_idle=False` it is
    written only when the pass released or reaped something (the worker's periodic passes: an entry
    every few seconds saying "0 …" would bury the feed).
    """
    at = now if now is not None else now_ms()
    report = PassReport()
    for step in STEPS:
        try:
            await step.run(relay, at, report)
        except Exception:
            log.exception("reaper step %s failed", step.name)
    if audit and (audit_idle or not report.empty()):
        await relay.activity.add(
            ActivityInput(
                kind="state",
                title="Maintenance reaper run",
                body=report.summary(),
                icon="ti-broom",
                view="activity",
                client_id=f"server-system-reap-{at}",
            )
        )
    return report
