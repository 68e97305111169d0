"""Cron slots and the misfire policy (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from relay_model.automations.schedule import check_cron, check_timezone, latest_slot, next_slot, plan_firing
from relay_model.errors import Invalid


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def test_five_and_six_field_slots_and_timezones() -> None:
    start = ms(2026, 3, 2, 9, 0, 0)
    assert next_slot("*/15 * * * *", None, start) == ms(2026, 3, 2, 9, 15)
    # Six fields: seconds first.
    assert next_slot("*/10 * * * * *", None, start) == ms(2026, 3, 2, 9, 0, 10)
    # 02:00 in Berlin (UTC+1 in March before the switch) is 01:00 UTC.
    assert next_slot("0 2 * * *", "Europe/Berlin", start) == ms(2026, 3, 3, 1, 0)
    assert latest_slot("*/15 * * * *", None, ms(2026, 3, 2, 9, 20)) == ms(2026, 3, 2, 9, 15)
    assert latest_slot("*/15 * * * *", None, ms(2026, 3, 2, 9, 15)) == ms(2026, 3, 2, 9, 15)


def test_misfire_policy() -> None:
    slot = ms(2026, 3, 2, 9, 0)
    # Late but within grace: the slot itself fires and the next one follows it.
    on_time = plan_firing("* * * * *", None, slot, slot + 5_000, 10_000)
    assert (on_time.slot, on_time.next, on_time.catch_up) == (slot, slot + 60_000, False)
    # After a long outage: one catch-up run for the latest missed slot, then the first future slot.
    now = slot + 3 * 3600_000 + 30_000
    late = plan_firing("* * * * *", None, slot, now, 10_000)
    assert (late.slot, late.next, late.catch_up) == (slot + 3 * 3600_000, slot + 3 * 3600_000 + 60_000, True)


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        ("* * * *", "trigger.cron must have 5 fields, or 6 with seconds first"),
        ("* * * * * * *", "trigger.cron must have 5 fields, or 6 with seconds first"),
        ("0 25 * * *", "trigger.cron is not a valid cron expression: 0 25 * * *"),
        ("70 * * * * *", "trigger.cron is not a valid cron expression: 70 * * * * *"),
    ],
)
def test_bad_cron(expr: str, text: str) -> None:
    with pytest.raises(Invalid) as info:
        check_cron(expr)
    assert info.value.message == text


def test_timezone_check() -> None:
    check_timezone("America/New_York")
    with pytest.raises(Invalid) as info:
        check_timezone("Nowhere/Town")
    assert info.value.message == "trigger.timezone is not a known time zone: Nowhere/Town"
