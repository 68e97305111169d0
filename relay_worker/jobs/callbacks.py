"""Integration callback delivery: drain the outbox the task scripts fill (relay_model/integrations/callbacks.py).

Safe to run on every replica at once and to re-run: each entry is leased with a compare-and-set
before it is sent, and a result whose lease was lost is not recorded.
"""

from __future__ import annotations

from typing import Any

from relay_model.integrations.callbacks import RetryPolicy
from relay_model.relay import Relay
from relay_model.settings import Settings
from relay_worker.slots import one_at_a_time


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.callback_max_attempts,
        backoff_ms=settings.callback_backoff_ms,
        backoff_max_ms=settings.callback_backoff_max_ms,
        timeout_s=settings.callback_timeout_s,
        lease_ms=int(settings.callback_timeout_s * 1000) * 3 + 30_000,
    )


async def deliver_callbacks(ctx: dict[str, Any]) -> int:
    return await one_at_a_time(ctx, "callbacks", lambda: _deliver(ctx["relay"]), 0)


async def _deliver(relay: Relay) -> int:
    # Also with no callbackUrl configured (any more): deliveries still pending are then settled as
    # failed, and retention keeps applying.
    made = await relay.callbacks.deliver_due(relay.settings.integrations, retry_policy(relay.settings))
    await relay.callbacks.trim(relay.settings.callback_retention)
    return made
