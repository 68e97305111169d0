"""The reaper's step order: the seed's sequence, with orphaned tasks after agents went offline."""

from __future__ import annotations

from relay_model.relay import REAP_STEPS as STEPS


def test_steps_run_in_the_documented_bands() -> None:
    names = [step.name for step in STEPS]
    expected = [
        "messages.claims",
        "tasks.expired_claims",
        "commands.expire",
        "agents.stale",
        "agents.offline",
        "tasks.orphans",
        "orchestrators.stale",
        "pairs.expiry",
        "pools.slots",
    ]
    assert [n for n in names if n in expected] == expected
    assert names.index("automations.abandoned_runs") > names.index("pools.slots")


async def test_drain_stops_at_a_short_batch_and_at_the_cap() -> None:
    from relay_model.reaper import drain

    backlog = list(range(25))

    async def batch(limit: int) -> list[str]:
        taken = backlog[:limit]
        del backlog[:limit]
        return [str(len(taken)), *(str(i) for i in taken)]

    assert await drain(batch, 10) == [str(i) for i in range(25)]

    async def always_full(limit: int) -> list[str]:
        return [str(limit), "x"]

    # A backlog larger than one pass should take (or a script that never comes back short) ends the step.
    assert len(await drain(always_full, 10, max_batches=3)) == 3
