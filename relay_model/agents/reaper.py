"""Reaper steps of agents and orchestrators: liveness by heartbeat age (stale, then offline).

Each agent batch is one Lua script (`lua/reap_agents_*.lua`) that reads only what is due and
re-checks every agent's own record before changing it; see `relay_model.reaper` for the contract.
The pass runs these in the order `relay_model.relay.REAP_STEPS` gives.
"""

from __future__ import annotations

from typing import Protocol

from relay_model.agents.agents import AgentStore
from relay_model.agents.orchestrators import OrchestratorStore
from relay_model.reaper import PassReport, ReapReport, drain
from relay_model.settings import Settings


class AgentReaping(Protocol):
    """What these steps use of the relay."""

    settings: Settings
    agents: AgentStore
    orchestrators: OrchestratorStore


async def mark_silent_agents_stale(relay: AgentReaping, now: int, report: PassReport) -> None:
    """Live agents silent for `AGENT_RELAY_STALE_AFTER_S` become stale."""
    cutoff = now - int(relay.settings.stale_after_s * 1000)
    agents = relay.agents
    report.stale_agent_ids.extend(
        await drain(lambda limit: agents.mark_stale_batch(cutoff, limit), relay.settings.reap_batch_size)
    )


async def mark_lost_agents_offline(relay: AgentReaping, now: int, report: ReapReport) -> None:
    """Stale agents silent for `AGENT_RELAY_OFFLINE_AFTER_S` go offline ("Heartbeat lost" activity).

    Runs after the stale step, so an agent silent past both thresholds goes stale and then offline
    in the same pass (two `agent.status` events, one activity entry).
    """
    cutoff = now - int(relay.settings.offline_after_s * 1000)
    agents = relay.agents
    report.reaped_agent_ids.extend(
        await drain(lambda limit: agents.mark_offline_batch(cutoff, now, limit), relay.settings.reap_batch_size)
    )


async def reap_orchestrators(relay: AgentReaping, now: int, report: ReapReport) -> None:
    """Orchestrators go online -> stale -> offline by heartbeat age, as agents do."""
    settings = relay.settings
    for orch in await relay.orchestrators.reap(
        now,
        stale_after_ms=int(settings.stale_after_s * 1000),
        offline_after_ms=int(settings.offline_after_s * 1000),
    ):
        if orch.id not in report.reaped_orchestrator_ids:
            report.reaped_orchestrator_ids.append(orch.id)
