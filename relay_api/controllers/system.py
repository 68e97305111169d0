"""System maintenance: `POST /api/system/reap` runs one reaper pass now (another module adds broadcast)."""

from __future__ import annotations

from litestar import Controller, post

from relay_api.deps import RelayDep
from relay_model.reaper import ReapReport
from relay_model.relay import reap_once


class SystemReapController(Controller):
    path = "/system"
    tags = ["system"]

    @post("/reap", name="system:reap", opt={"scope": "system:admin"}, status_code=200)
    async def reap(self, relay: RelayDep) -> ReapReport:
        """Run the reaper once, synchronously, through the worker's code, and record the seed's
        "Maintenance reaper run" activity. Answers the ids it touched, in the seed's shape."""
        report = await reap_once(relay, audit=True)
        return report.seed()
