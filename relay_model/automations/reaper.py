"""Reaper step of automations: runs still `running` long after they started lost their worker.

The pass runs it in the order `relay_model.relay.REAP_STEPS` gives; see `relay_model.reaper` for the
contract every step keeps.
"""

from __future__ import annotations

from typing import Protocol

from relay_model.automations.automations import AutomationStore
from relay_model.reaper import ReapReport


class AutomationReaping(Protocol):
    """What this step uses of the relay."""

    automations: AutomationStore


async def fail_abandoned_runs(relay: AutomationReaping, now: int, report: ReapReport) -> None:
    await relay.automations.fail_abandoned(now)
