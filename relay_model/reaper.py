"""The reaper: one pass over everything that expired, shared by the worker and `POST /api/system/reap`.

Each domain contributes a step (`register_step`); a step reads only what is due (deadlines live in
sorted sets), changes each item with a compare-and-set Lua script, and records the ids it touched
in the report. Steps run in registration order; a step that fails is logged and the others still run.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from .activity import ActivityInput
from .clock import now_ms

if TYPE_CHECKING:
    from .relay import Relay

log = logging.getLogger("relay.reaper")


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
        return not any(msgspec.structs.asdict(self).values())


ReapStepFn = Callable[["Relay", int, ReapReport], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ReapStep:
    name: str
    run: ReapStepFn


STEPS: list[ReapStep] = []


def register_step(name: str) -> Callable[[ReapStepFn], ReapStepFn]:
    """Decorator: add a step to every reaper pass (once, even if the module is imported again)."""

    def wrap(fn: ReapStepFn) -> ReapStepFn:
        if not any(step.name == name for step in STEPS):
            STEPS.append(ReapStep(name, fn))
        return fn

    return wrap


async def reap_once(relay: Relay, *, now: int | None = None, audit: bool = True) -> ReapReport:
    """Run every step once. `audit` writes the seed's "Maintenance reaper run" activity entry."""
    at = now if now is not None else now_ms()
    report = ReapReport()
    for step in STEPS:
        try:
            await step.run(relay, at, report)
        except Exception:
            log.exception("reaper step %s failed", step.name)
    if audit:
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
