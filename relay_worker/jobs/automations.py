"""Automation dispatch: every second, fire the due cron slots and the event-triggered automations.

Every worker runs this tick; the stores make each slot and each (automation, event) run once, so
adding replicas adds availability, never duplicate runs.
"""

from __future__ import annotations

import logging
from typing import Any

from relay_model.flows.automation_dispatch import dispatch_due, dispatch_events
from relay_model.relay import Relay
from relay_worker.slots import one_at_a_time

log = logging.getLogger("relay.worker.automations")


async def automations_tick(ctx: dict[str, Any]) -> int:
    return await one_at_a_time(ctx, "automations", lambda: _dispatch(ctx), 0)


async def _dispatch(ctx: dict[str, Any]) -> int:
    relay: Relay = ctx["relay"]
    fired = await dispatch_due(relay, grace_ms=relay.settings.automation_misfire_grace_ms)
    fired += await dispatch_events(relay, consumer=ctx["worker_id"])
    for run in fired:
        log.info("automation %s run %s: %s", run.automation_id, run.id, run.status)
    return len(fired)
