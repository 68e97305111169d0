"""Automations: CRUD, run now, and the run history (`/api/automation-runs`)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from relay_api.deps import RelayDep
from relay_api.responses import Ok
from relay_model.automations.automations import Automation, AutomationInput, AutomationRun
from relay_model.automations.schedule import check_cron, check_timezone, upcoming_slots
from relay_model.clock import now_ms
from relay_model.errors import Invalid, NotFound
from relay_model.flows.automation_dispatch import DispatchResult, run_now

PREVIEW_MAX = 50


class SchedulePreview(msgspec.Struct, rename="camel"):
    cron: str
    timezone: str
    after: int
    # The next slots strictly after `after`, in ms since the epoch.
    runs: list[int]


class AutomationController(Controller):
    path = "/automations"
    tags = ["automations"]

    @get("/", name="automations:list", opt={"scope": "automations:read"})
    async def list_automations(self, relay: RelayDep) -> list[Automation]:
        """Every automation, oldest first, with `nextRunAt` and its last run."""
        return await relay.automations.list()

    @post("/", name="automations:create", opt={"scope": "automations:write"}, status_code=201)
    async def create(self, relay: RelayDep, data: JSONBody[AutomationInput]) -> Automation:
        """Create an automation: `{name, enabled?, trigger, action}` (see the README for the shapes)."""
        return await relay.automations.create(data)

    @get("/schedule/preview", name="automations:preview", opt={"scope": "automations:read"})
    async def preview(
        self,
        cron: Annotated[str, QueryParameter(max_length=200, description="5 fields, or 6 with seconds first")],
        timezone: Annotated[str | None, QueryParameter(max_length=64, description="IANA name; default UTC")] = None,
        count: Annotated[int, QueryParameter(ge=1, le=PREVIEW_MAX)] = 5,
        after: Annotated[int | None, QueryParameter(ge=0, description="ms since the epoch; default now")] = None,
    ) -> SchedulePreview:
        """The next `count` slots of a cron schedule, computed the way the workers schedule it (the
        dashboard's preview while an automation is edited). Nothing is stored."""
        expr = " ".join(cron.split())
        if not expr:
            raise Invalid("cron required")
        check_cron(expr, field="cron")
        tz = timezone.strip() if timezone and timezone.strip() else None
        if tz:
            check_timezone(tz, field="timezone")
        start = now_ms() if after is None else after
        runs = upcoming_slots(expr, tz, start, count)
        return SchedulePreview(cron=expr, timezone=tz or "UTC", after=start, runs=runs)

    @get("/{automation_id:str}", name="automations:get", opt={"scope": "automations:read"})
    async def get_automation(self, relay: RelayDep, automation_id: FromPath[str]) -> Automation:
        return await relay.automations.require(automation_id)

    @patch("/{automation_id:str}", name="automations:update", opt={"scope": "automations:write"})
    async def update(
        self, relay: RelayDep, automation_id: FromPath[str], data: JSONBody[AutomationInput]
    ) -> Automation:
        """Change any of name, enabled, trigger, action. Disabling removes it from the schedule at once."""
        return await relay.automations.update(automation_id, data)

    @delete("/{automation_id:str}", name="automations:delete", opt={"scope": "automations:admin"}, status_code=200)
    async def delete_automation(self, relay: RelayDep, automation_id: FromPath[str]) -> Ok:
        if not await relay.automations.delete(automation_id):
            raise NotFound("automation not found")
        return Ok()

    @post("/{automation_id:str}/run", name="automations:run", opt={"scope": "automations:write"}, status_code=202)
    async def run(self, relay: RelayDep, automation_id: FromPath[str]) -> Response[DispatchResult]:
        """Run now (also when disabled). 202 with `{automation, run, command?, message?, task?, instance?}`;
        a run whose action fails is recorded and returned with `status: failed` and its `error`."""
        return Response(await run_now(relay, automation_id), status_code=202)


class AutomationRunController(Controller):
    path = "/automation-runs"
    tags = ["automations"]

    @get("/", name="automations:runs", opt={"scope": "automations:read"})
    async def list_runs(
        self,
        relay: RelayDep,
        automation_id: Annotated[str | None, QueryParameter(name="automationId", max_length=240)] = None,
        status: Annotated[
            str | None,
            QueryParameter(max_length=40, description="running | succeeded | failed (another value matches no run)"),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[AutomationRun]:
        """Runs newest first, each with its outcome (`status`, `created`, `error`); an unknown `status`
        matches none, as in the seed."""
        return await relay.automations.runs(automation_id=automation_id, status=status, limit=limit)
