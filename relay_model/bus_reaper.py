"""Reaper steps of the bus group: expired message claims, and agent liveness (stale, then offline).

Each step is one Lua script per batch (`lua/reap_*.lua`) that reads only what is due and re-checks
every item's own record before changing it; see `relay_model.reaper` for the contract.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import keys
from .reaper import PassReport, drain, register_step

if TYPE_CHECKING:
    from .relay import Relay


async def _drain_script(relay: Relay, script: str, keys_: list[str], due_at: int, *extra: object) -> list[str]:
    """Run a reap script (ARGV: due-at cutoff, batch size, stream maxlen, *extra) until a batch comes back short."""

    async def batch(limit: int) -> list[str]:
        result: list[str] = await relay.scripts.run(
            script, keys_, [due_at, limit, relay.settings.event_stream_maxlen, *extra]
        )
        return result

    return await drain(batch, relay.settings.reap_batch_size)


@register_step("messages.claims", order=10)
async def release_expired_claims(relay: Relay, now: int, report: PassReport) -> None:
    """Claims whose `claimExpiresAt` is at or before now are released (`message.claim_released`)."""
    released = await _drain_script(relay, "reap_message_claims", [keys.message_claims(), keys.events(keys.BUS)], now)
    report.released_message_ids.extend(int(message_id) for message_id in released)


@register_step("agents.stale", order=40)
async def mark_silent_agents_stale(relay: Relay, now: int, report: PassReport) -> None:
    """Live agents silent for `AGENT_RELAY_STALE_AFTER_S` become stale."""
    cutoff = now - int(relay.settings.stale_after_s * 1000)
    liveness = [keys.agents_live(), keys.agents_stale(), keys.events(keys.BUS)]
    report.stale_agent_ids.extend(await _drain_script(relay, "reap_agents_stale", liveness, cutoff))


@register_step("agents.offline", order=41)
async def mark_lost_agents_offline(relay: Relay, now: int, report: PassReport) -> None:
    """Stale agents silent for `AGENT_RELAY_OFFLINE_AFTER_S` go offline ("Heartbeat lost" activity).

    Runs after the stale step, so an agent silent past both thresholds goes stale and then offline
    in the same pass (two `agent.status` events, one activity entry).
    """
    cutoff = now - int(relay.settings.offline_after_s * 1000)
    liveness = [
        keys.agents_live(),
        keys.agents_stale(),
        keys.events(keys.BUS),
        keys.activity_seq(),
        keys.activity_all(),
    ]
    report.reaped_agent_ids.extend(await _drain_script(relay, "reap_agents_offline", liveness, cutoff, now))
