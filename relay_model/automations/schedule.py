"""Cron slots for scheduled automations, and the misfire policy.

A schedule is a 5-field cron expression (minute hour day month weekday) or 6 fields with seconds
first (`*/10 * * * * *` = every ten seconds), read by croniter, in the trigger's `timezone` (an IANA
name, default UTC). A slot is the epoch-ms instant the expression names.

Misfire policy. The due set holds each automation's next slot. A worker that finds a slot due:
- fires it when it is at most `grace_ms` late (worker jitter, a restart): the next slot is then the
  one after it, so brief delays lose nothing;
- otherwise (the relay or every worker was down) fires ONE catch-up run for the most recent missed
  slot, recorded with `catchUp: true`, and moves on to the first slot after now. Missed slots
  in between never fire, so downtime never causes a storm of runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from relay_model.errors import Invalid


# `field` names the input in the error text: `trigger.cron` in an automation body, `cron` in the
# schedule preview's query string.
def check_cron(expr: str, field: str = "trigger.cron") -> None:
    fields = expr.split()
    if len(fields) not in (5, 6):
        raise Invalid(f"{field} must have 5 fields, or 6 with seconds first")
    if not croniter.is_valid(expr, second_at_beginning=len(fields) == 6):
        raise Invalid(f"{field} is not a valid cron expression: {expr}")


def check_timezone(name: str, field: str = "trigger.timezone") -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"{field} is not a known time zone: {name}") from None


def _iter(expr: str, tz: str | None, start_ms: int, *, prev: bool = False) -> croniter:
    zone = ZoneInfo(tz) if tz else UTC
    start = datetime.fromtimestamp(start_ms / 1000, tz=zone)
    return croniter(expr, start, second_at_beginning=len(expr.split()) == 6, is_prev=prev)


def next_slot(expr: str, tz: str | None, after_ms: int) -> int:
    """The first slot strictly after `after_ms`."""
    return int(_iter(expr, tz, after_ms).get_next(float) * 1000)


def upcoming_slots(expr: str, tz: str | None, after_ms: int, count: int) -> list[int]:
    """The next `count` slots strictly after `after_ms` (what the dashboard's cron preview shows)."""
    it = _iter(expr, tz, after_ms)
    return [int(it.get_next(float) * 1000) for _ in range(count)]


def latest_slot(expr: str, tz: str | None, at_ms: int) -> int:
    """The most recent slot at or before `at_ms`."""
    nxt = next_slot(expr, tz, at_ms - 1)
    if nxt <= at_ms:
        return nxt
    return int(_iter(expr, tz, at_ms).get_prev(float) * 1000)


@dataclass(frozen=True, slots=True)
class Firing:
    slot: int  # the slot this run is for (`scheduledFor`)
    next: int  # where the automation goes in the due set afterwards
    catch_up: bool


def plan_firing(expr: str, tz: str | None, due_slot: int, now: int, grace_ms: int) -> Firing:
    """Which slot to fire for a due entry, and the next one (see the misfire policy above)."""
    if now - due_slot <= grace_ms:
        return Firing(slot=due_slot, next=next_slot(expr, tz, due_slot), catch_up=False)
    slot = latest_slot(expr, tz, now)
    return Firing(slot=slot, next=next_slot(expr, tz, now), catch_up=True)
