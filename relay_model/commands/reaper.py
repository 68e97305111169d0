"""Reaper steps of commands: ttl expiry (`expiredCommandIds`), then the purge of old final commands.

The pass runs them in the order `relay_model.relay.REAP_STEPS` gives; see `relay_model.reaper` for
the contract every step keeps.
"""

from __future__ import annotations

from typing import Protocol

from relay_model.commands.commands import CommandStore
from relay_model.reaper import ReapReport
from relay_model.settings import Settings


class CommandReaping(Protocol):
    """What these steps use of the relay."""

    settings: Settings
    commands: CommandStore


async def expire_commands(relay: CommandReaping, now: int, report: ReapReport) -> None:
    """Non-final commands past their `expiresAt` end `timed_out` (their final hooks run)."""
    for command in await relay.commands.expire_due(now):
        report.expired_command_ids.append(command.id)


async def purge_old_commands(relay: CommandReaping, now: int, report: ReapReport) -> None:
    """Final commands older than `AGENT_RELAY_COMMAND_RETENTION_S` are deleted."""
    retention_ms = int(relay.settings.command_retention_s * 1000)
    await relay.commands.purge_finished(now - retention_ms)
