"""Reaper steps of tasks: expired claims, and the claims of agents that went away.

- `tasks.expired_claims`: the task-claims zset up to now (`releasedTaskIds`);
- `tasks.orphans`: the agents that hold task claims (a small set), whose status is then read from
  the agents' group in one pipeline; tasks of those found offline or deleted are marked `orphaned`
  and released (`releasedOrphanedTaskIds`). Agents and tasks live in different hash-tag groups, so
  this is two round trips, and an agent that comes back between them loses its claims — as it would
  one reaper pass later anyway;
- `tasks.retention`: final tasks (done, failed, canceled) whose last change is older than
  `AGENT_RELAY_TASK_RETENTION_S`, or beyond the newest `AGENT_RELAY_TASK_MAX` final ones, are deleted
  with their history (tasks_trim.lua). Open work is never deleted.

The pass runs them in the order `relay_model.relay.REAP_STEPS` gives (orphans after agents went
offline, so their tasks are freed in the same pass); see `relay_model.reaper` for the contract.
"""

from __future__ import annotations

from typing import Protocol

from relay_model.agents.agents import AgentStore
from relay_model.reaper import PassReport, ReapReport, trim
from relay_model.settings import Settings
from relay_model.tasks.tasks import TaskStore


class TaskReaping(Protocol):
    """What these steps use of the relay."""

    settings: Settings
    tasks: TaskStore
    agents: AgentStore


async def release_expired_task_claims(relay: TaskReaping, now: int, report: ReapReport) -> None:
    report.released_task_ids.extend(await relay.tasks.release_expired(now))


async def release_orphaned_tasks(relay: TaskReaping, now: int, report: ReapReport) -> None:
    claimants = await relay.tasks.claimants()
    if not claimants:
        return
    statuses = await relay.agents.statuses(claimants)
    gone = [a for a, status in zip(claimants, statuses, strict=True) if status is None or status == "offline"]
    report.released_orphaned_task_ids.extend(await relay.tasks.release_orphans(now, gone))


async def trim_tasks(relay: TaskReaping, now: int, report: PassReport) -> None:
    settings = relay.settings
    report.trimmed_task_ids.extend(
        await trim(
            relay.tasks.trim_batch,
            now=now,
            retention_s=settings.task_retention_s,
            keep=settings.task_max,
            batch_size=settings.reap_batch_size,
        )
    )
