"""Reaper steps for tasks, pool slots and pairs (registered with `relay_model.reaper`).

Each step reads only what is due:
- `tasks.expired_claims`: the task-claims zset up to now (`releasedTaskIds`);
- `tasks.orphans`: the agents that hold task claims (a small set), whose status is then read from
  the bus group in one pipeline; tasks of those found offline or deleted are marked `orphaned` and
  released (`releasedOrphanedTaskIds`). Agents and tasks live in different hash-tag groups, so this
  is two round trips, and an agent that comes back between them loses its claims — as it would one
  reaper pass later anyway;
- `pools.slots`: slots held by agents no longer online/idle/busy, and unclaimed slots;
- `pairs.expiry`: pending pairs past their deadline.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from . import keys
from .activity import ActivityInput
from .reaper import ReapReport, register_step

if TYPE_CHECKING:
    from .relay import Relay

log = logging.getLogger("relay.reaper")


@register_step("tasks.expired_claims", order=20)
async def release_expired_task_claims(relay: Relay, now: int, report: ReapReport) -> None:
    report.released_task_ids.extend(await relay.tasks.release_expired(now))


# After agents.offline (41): tasks of an agent that went offline in this pass are freed in the same pass.
@register_step("tasks.orphans", order=45)
async def release_orphaned_tasks(relay: Relay, now: int, report: ReapReport) -> None:
    claimants = await relay.tasks.claimants()
    if not claimants:
        return
    pipe = relay.redis.pipeline(transaction=False)
    for agent_id in claimants:
        pipe.hget(keys.agent(agent_id), "status")
    statuses = await pipe.execute()
    gone = [a for a, status in zip(claimants, statuses, strict=True) if status is None or status == "offline"]
    report.released_orphaned_task_ids.extend(await relay.tasks.release_orphans(now, gone))


@register_step("pools.slots", order=90)
async def move_pool_slots(relay: Relay, now: int, report: ReapReport) -> None:
    for change in await relay.channels.evaluate_due():
        log.info(
            "pool slot of binding %s moved from %s to %s",
            change.binding_id,
            change.previous_agent_id,
            change.new_agent_id,
        )


@register_step("pairs.expiry", order=60)
async def expire_pairs(relay: Relay, now: int, report: ReapReport) -> None:
    for pair in await relay.pairs.expire_due(now):
        await relay.activity.add(
            ActivityInput(
                kind="pair",
                title="Pair request expired",
                body=f"{pair.from_} → {pair.to}",
                meta=str(pair.id),
                icon="ti-link-off",
                view="chat",
                agent_id=pair.from_,
                metadata={"pairId": pair.id, "status": pair.status},
                client_id=f"server-pair-{pair.id}-expired",
            )
        )
