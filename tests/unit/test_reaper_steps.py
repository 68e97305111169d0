"""The reaper's step order: the seed's sequence, with orphaned tasks after agents went offline."""

from __future__ import annotations

import relay_model.relay  # noqa: F401  (imports every module that registers a step)
from relay_model.reaper import STEPS


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
