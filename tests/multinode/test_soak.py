"""A short fault soak in the suite (tests/soak.py): ~40 s of load on two nodes and two workers while
nodes, workers and Redis are killed -9 and come back; nothing acknowledged is lost or duplicated.

The long run (300 s by default) is `python -m bench.soak`; it prints the same counts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.soak import SoakPlan, run_soak

pytestmark = pytest.mark.multinode

PLAN = SoakPlan(duration_s=40, node_kill_every_s=12, worker_kill_every_s=15, redis_kill_at=0.55)


def test_a_short_fault_soak_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    report = run_soak(PLAN, tmp_path)
    print(json.dumps(report.as_dict(), indent=1))
    # The faults happened: three node kills, two worker kills, one Redis kill.
    assert (report.node_kills, report.worker_kills, report.redis_kills) == (3, 2, 1)
    assert report.unexpected_exits == []
    # Messages: every 201 stored with its body and in the recipient's inbox, none stored twice.
    assert report.acknowledged > 100
    assert (report.lost, report.stored_twice, report.not_in_inbox) == (0, 0, 0)
    # Streams that resumed after every cut saw each acknowledged message exactly once.
    assert len(report.streams) == 2
    for stream in report.streams:
        assert (stream.missing, stream.duplicated) == (0, 0), stream
        assert stream.reconnects >= 1  # each was cut at least once (a node kill or the Redis kill)
    # Claims, cron slots and reaper slots.
    assert report.races > 10 and report.double_claims == 0
    assert report.cron_runs > 20 and report.cron_slots_twice == 0
    assert report.reaper_passes > 20 and report.reaper_slots_twice == 0
    assert report.workers_alive_at_end == 2
    assert report.clean
