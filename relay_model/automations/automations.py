"""Automations: scheduled or event-triggered dispatch of a message, task, command or recipe, and their runs.

Body shape (`POST /api/automations`, `PATCH` takes any subset)::

    {"name": "nightly review", "enabled": true,
     "trigger": {"type": "schedule", "cron": "0 2 * * 1-5", "timezone": "Europe/Berlin"}
              | {"type": "event", "event": "task.created", "filter": {"severity": "critical"}},
     "action":  {"type": "message", "message": {…as POST /api/messages}}
              | {"type": "task", "task": {…as POST /api/tasks}}
              | {"type": "command", "command": {…as POST /api/commands}}
              | {"type": "recipe", "recipe": {…as POST /api/recipes/start}}}

The action's body is validated when the automation is saved, with the same rules as the route it
mirrors (the table of action types is handed over at construction, see `ActionBody`), so a broken
automation is refused up front rather than failing at 2 am.

Scheduled automations sit in a due set scored by their next cron slot (`schedule.py` has
the misfire policy); enabled event automations sit in an index per event type. Saving, disabling or
deleting updates both in the same script, so every worker sees the change at once.
"""

from __future__ import annotations

import builtins
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import msgspec
from redis.asyncio import Redis

from relay_model import keys
from relay_model.automations.schedule import check_cron, check_timezone, next_slot
from relay_model.base import Input, Model
from relay_model.clock import now_ms
from relay_model.errors import Conflict, Invalid, NotFound
from relay_model.scripts import Scripts
from relay_model.validation import JsonObject, check_json_size

TRIGGER_TYPES: Final = ("schedule", "event")
ACTION_TYPES: Final = ("message", "task", "command", "recipe")
RUN_STATUSES: Final = ("running", "succeeded", "failed")
RUNS_KEPT_PER_AUTOMATION: Final = 1000
FIRED_KEY_TTL_S: Final = 7 * 24 * 3600
RUN_SCAN_BUDGET: Final = 5000
# Re-reads a PATCH makes when other writes keep landing between its read and its save.
UPDATE_ATTEMPTS: Final = 5
# A run still `running` this long after it started lost its worker (dispatch takes milliseconds).
ABANDONED_RUN_MS: Final = 5 * 60 * 1000
ABANDONED_TEXT: Final = "the worker stopped before the run finished; its action may or may not have happened"
_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class ScheduleTrigger(Model, tag="schedule", tag_field="type"):
    cron: str
    timezone: str | None = None


class EventTrigger(Model, tag="event", tag_field="type"):
    event: str
    filter: JsonObject | None = None


class MessageAction(Model, tag="message", tag_field="type"):
    message: JsonObject


class TaskAction(Model, tag="task", tag_field="type"):
    task: JsonObject


class CommandAction(Model, tag="command", tag_field="type"):
    command: JsonObject


class RecipeAction(Model, tag="recipe", tag_field="type"):
    recipe: JsonObject


Trigger = ScheduleTrigger | EventTrigger
Action = MessageAction | TaskAction | CommandAction | RecipeAction


class Automation(Model, kw_only=True):
    id: str
    name: str
    enabled: bool = True
    trigger: Trigger
    action: Action
    created_by: str | None = None
    created_at: int = 0
    updated_at: int = 0
    next_run_at: int | None = None
    last_run_at: int | None = None
    last_run_id: str | None = None
    last_run_status: str | None = None


class RunCreated(Model):
    """What a run made: the ids of the objects its action created."""

    command_id: str | None = None
    message_id: int | None = None
    task_id: int | str | None = None
    recipe_instance_id: str | None = None
    command_ids: list[str] = msgspec.field(default_factory=list)


class AutomationRun(Model):
    id: str
    automation_id: str
    automation_name: str = ""
    trigger: Literal["schedule", "event", "manual"] = "manual"
    status: Literal["running", "succeeded", "failed"] = "running"
    # The cron slot (ms) a scheduled run is for; a catch-up run after downtime says so.
    scheduled_for: int | None = None
    catch_up: bool = False
    event_type: str | None = None
    event_id: str | None = None
    created: RunCreated = msgspec.field(default_factory=RunCreated)
    error: str | None = None
    created_at: int = 0
    started_at: int = 0
    finished_at: int | None = None


class AutomationInput(Input):
    name: Any = msgspec.UNSET
    enabled: Any = msgspec.UNSET
    trigger: Any = msgspec.UNSET
    action: Any = msgspec.UNSET
    created_by: Any = msgspec.UNSET


_MISSING = re.compile(r"Object missing required field `(.+?)`")
_AT = re.compile(r"^(.*?)(?: - at `\$(.*)`)?$", re.S)


def reword(prefix: str, exc: msgspec.ValidationError) -> str:
    """msgspec's message for a nested body, in the seed's `field problem` style with its full path."""
    m = _AT.match(str(exc))
    text, path = (m.group(1), m.group(2) or "") if m else (str(exc), "")
    where = prefix + path
    if mm := _MISSING.match(text):
        return f"{where}.{mm.group(1)} required"
    if mm := re.match(r"Invalid enum value '(.*)'", text):
        return f"{where} has an unknown value: {mm.group(1)}"
    if mm := re.match(r"Expected `str` of length <= (\d+)", text):
        return f"{where} must be at most {mm.group(1)} characters"
    if mm := re.match(r"Expected `str` of length >= 1", text):
        return f"{where} must not be empty"
    if mm := re.match(r"Expected `int` >= 1", text):
        return f"{where} must be a positive integer"
    if mm := re.match(r"Expected `(.+?)`, got `(.+?)`", text):
        return f"{where} must be {mm.group(1).replace(' | null', '')}"
    return f"{where}: {text}"


@dataclass(frozen=True, slots=True)
class ActionBody:
    """What one action type's payload must satisfy: the request body it mirrors, and any check beyond
    that type (the route's own rules). The table of every action type is the dispatch flow's
    (`relay_model.flows.automation_dispatch.AUTOMATION_ACTIONS`), handed to the store at construction."""

    body: type[msgspec.Struct]
    check: Callable[[Any], None] | None = None


def action_payload(action: Action) -> Any:
    """The action's raw payload (`action.<type>`)."""
    return getattr(action, str(action.__struct_config__.tag))


def _check_trigger(raw: Any) -> Trigger:
    if not isinstance(raw, dict):
        raise Invalid("trigger must be an object")
    kind = raw.get("type")
    if kind not in TRIGGER_TYPES:
        raise Invalid(f"trigger.type must be one of: {', '.join(TRIGGER_TYPES)}")
    if kind == "schedule":
        cron = raw.get("cron")
        if not isinstance(cron, str) or not cron.strip():
            raise Invalid("trigger.cron required")
        check_cron(cron.strip())
        tz = raw.get("timezone")
        if tz is not None:
            if not isinstance(tz, str):
                raise Invalid("trigger.timezone must be a string")
            check_timezone(tz)
        return ScheduleTrigger(cron=" ".join(cron.split()), timezone=tz)
    event = raw.get("event")
    if not isinstance(event, str) or not event:
        raise Invalid("trigger.event required")
    if not _EVENT_TYPE.match(event):
        raise Invalid("trigger.event must be a relay event type such as task.created")
    if event.startswith("automation."):
        raise Invalid("trigger.event cannot be an automation event")
    flt = raw.get("filter")
    if flt is not None and not isinstance(flt, dict):
        raise Invalid("trigger.filter must be an object")
    check_json_size(flt, "trigger.filter", 4096)
    return EventTrigger(event=event, filter=flt)


def _check_action(raw: Any, actions: Mapping[str, ActionBody]) -> Action:
    if not isinstance(raw, dict):
        raise Invalid("action must be an object")
    kind = raw.get("type")
    if kind not in ACTION_TYPES:
        raise Invalid(f"action.type must be one of: {', '.join(ACTION_TYPES)}")
    payload = raw.get(kind)
    if not isinstance(payload, dict):
        raise Invalid(f"action.{kind} must be an object")
    check_json_size(payload, f"action.{kind}")
    spec = actions.get(kind)
    if spec is None:
        raise Invalid(f"action.type {kind} is not available on this relay")
    try:
        body = msgspec.convert(payload, spec.body)
    except msgspec.ValidationError as exc:
        raise Invalid(reword(f"action.{kind}", exc)) from None
    if spec.check is not None:
        spec.check(body)
    action_types: dict[str, type[Action]] = {
        "message": MessageAction,
        "task": TaskAction,
        "command": CommandAction,
        "recipe": RecipeAction,
    }
    return msgspec.convert({"type": kind, kind: payload}, action_types[kind])


def _check_name(raw: Any) -> str:
    if raw is None or raw is msgspec.UNSET or (isinstance(raw, str) and not raw.strip()):
        raise Invalid("name required")
    if not isinstance(raw, str):
        raise Invalid("name must be a string")
    if len(raw) > 120:
        raise Invalid("name must be at most 120 characters")
    return raw.strip()


def _check_enabled(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise Invalid("enabled must be a boolean")
    return raw


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Automation).decode
_decode_list = msgspec.json.Decoder(list[Automation]).decode
_decode_run = msgspec.json.Decoder(AutomationRun).decode
_decode_runs = msgspec.json.Decoder(list[AutomationRun]).decode


class _Doc(Model):
    """What the hash's `doc` holds; the run fields are spliced in by the scripts."""

    id: str
    name: str
    enabled: bool
    trigger: Trigger
    action: Action
    created_by: str | None
    created_at: int
    updated_at: int


def schedule_of(automation: Automation | _Doc, now: int) -> int | None:
    """The next due slot of an enabled scheduled automation, else None."""
    trig = automation.trigger
    if not automation.enabled or not isinstance(trig, ScheduleTrigger):
        return None
    return next_slot(trig.cron, trig.timezone, now)


class AutomationStore:
    def __init__(self, redis: Redis, scripts: Scripts, *, event_maxlen: int, actions: Mapping[str, ActionBody]) -> None:
        """`actions`: action type -> what its payload must satisfy (checked when an automation is saved)."""
        self.redis = redis
        self.scripts = scripts
        self.maxlen = event_maxlen
        self.actions = actions

    async def _save(self, doc: _Doc, mode: str, next_at: int | None, *, expected_updated_at: int | None = None) -> str:
        """The saved automation's JSON; '' when `expected_updated_at` no longer matches the stored doc."""
        event = doc.trigger.event if isinstance(doc.trigger, EventTrigger) else ""
        (raw,) = await self.scripts.run_checked(
            "automation_save",
            [keys.automation(doc.id), keys.automations(), keys.automations_due(), keys.events(keys.AUTO)],
            [
                doc.updated_at,
                doc.id,
                _encode(doc),
                mode,
                "" if next_at is None else next_at,
                event,
                "1" if doc.enabled else "0",
                self.maxlen,
                "" if expected_updated_at is None else expected_updated_at,
            ],
        )
        return str(raw)

    async def create(self, data: AutomationInput) -> Automation:
        name = _check_name(data.name)
        enabled = True if data.enabled is msgspec.UNSET else _check_enabled(data.enabled)
        if data.trigger is msgspec.UNSET:
            raise Invalid("trigger required")
        if data.action is msgspec.UNSET:
            raise Invalid("action required")
        trigger = _check_trigger(data.trigger)
        action = _check_action(data.action, self.actions)
        created_by = None
        if isinstance(data.created_by, str) and data.created_by:
            created_by = data.created_by[:120]
        now = now_ms()
        doc = _Doc(
            id=str(uuid.uuid4()),
            name=name,
            enabled=enabled,
            trigger=trigger,
            action=action,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        return _decode(await self._save(doc, "create", schedule_of(doc, now)))

    async def update(self, automation_id: str, data: AutomationInput) -> Automation:
        """Apply a partial change. The save is a compare-and-set on the doc read, so two concurrent
        PATCHes of different fields both land (the later one re-reads and re-applies)."""
        current = await self.require(automation_id)
        name = current.name if data.name is msgspec.UNSET else _check_name(data.name)
        enabled = current.enabled if data.enabled is msgspec.UNSET else _check_enabled(data.enabled)
        trigger = current.trigger if data.trigger is msgspec.UNSET else _check_trigger(data.trigger)
        action = current.action if data.action is msgspec.UNSET else _check_action(data.action, self.actions)
        for attempt in range(UPDATE_ATTEMPTS):
            if attempt:
                current = await self.require(automation_id)
            now = now_ms()
            doc = _Doc(
                id=current.id,
                name=current.name if data.name is msgspec.UNSET else name,
                enabled=current.enabled if data.enabled is msgspec.UNSET else enabled,
                trigger=current.trigger if data.trigger is msgspec.UNSET else trigger,
                action=current.action if data.action is msgspec.UNSET else action,
                created_by=current.created_by,
                created_at=current.created_at,
                # Strictly increasing, so the compare-and-set on it tells every write apart.
                updated_at=max(now, current.updated_at + 1),
            )
            # An unchanged schedule keeps its pending slot, so an edit of the name never skips a run.
            same_schedule = doc.trigger == current.trigger and doc.enabled == current.enabled
            next_at = current.next_run_at if same_schedule and current.next_run_at else schedule_of(doc, now)
            raw = await self._save(doc, "update", next_at, expected_updated_at=current.updated_at)
            if raw:
                return _decode(raw)
        raise Conflict("automation changed concurrently; try again")

    async def delete(self, automation_id: str) -> bool:
        deleted = await self.scripts.run(
            "automation_delete",
            [keys.automation(automation_id), keys.automations(), keys.automations_due(), keys.events(keys.AUTO)],
            [automation_id, self.maxlen],
        )
        return bool(deleted)

    async def get(self, automation_id: str) -> Automation | None:
        raws = await self.scripts.run("automations_get", [keys.automation(automation_id)], ["keys"])
        return _decode(raws[0]) if raws else None

    async def require(self, automation_id: str) -> Automation:
        found = await self.get(automation_id)
        if found is None:
            raise NotFound("automation not found")
        return found

    async def get_many(self, automation_ids: builtins.list[str]) -> builtins.list[Automation]:
        if not automation_ids:
            return []
        raws = await self.scripts.run("automations_get", [keys.automation(a) for a in automation_ids], ["keys"])
        return _decode_list("[" + ",".join(raws) + "]") if raws else []

    async def list(self) -> builtins.list[Automation]:
        raws = await self.scripts.run("automations_get", [keys.automations()], ["all"])
        return _decode_list("[" + ",".join(raws) + "]") if raws else []

    async def due(self, now: int, limit: int = 100) -> builtins.list[tuple[str, int]]:
        rows = await self.redis.zrangebyscore(keys.automations_due(), "-inf", now, start=0, num=limit, withscores=True)
        return [(str(member), int(score)) for member, score in rows]

    async def unschedule(self, automation_ids: builtins.list[str]) -> int:
        """Drop due entries of automations that have no pending slot any more (checked in the script)."""
        if not automation_ids:
            return 0
        return int(await self.scripts.run("automation_unschedule", [keys.automations_due()], automation_ids))

    async def start_run(
        self,
        automation: Automation,
        run: AutomationRun,
        *,
        mode: Literal["slot", "event", "manual"],
        occasion: str = "",
        expected: int | None = None,
        next_at: int | None = None,
    ) -> Automation | None:
        """Record a run as started, at most once per occasion. None when another caller had it."""
        result = await self.scripts.run_checked(
            "automation_run_start",
            [
                keys.automation(automation.id),
                keys.automations_due(),
                keys.automation_runs(),
                keys.automation_fired(automation.id, occasion or "manual"),
                keys.automation_runs_of(automation.id),
                keys.automation_runs_running(),
            ],
            [
                run.started_at,
                automation.id,
                mode,
                "" if expected is None else expected,
                "" if next_at is None else next_at,
                run.id,
                _encode(run),
                FIRED_KEY_TTL_S,
                RUNS_KEPT_PER_AUTOMATION,
            ],
        )
        if result[0] != "started":
            return None
        return _decode(result[1])

    async def finish_run(
        self, run: AutomationRun, extra: dict[str, Any], *, only_if_running: bool = False
    ) -> Automation | None:
        """Store the run's outcome and emit `automation.run` with it and the objects it created."""
        extra_json = ",".join(f"{_encode(k).decode()}:{_encode(v).decode()}" for k, v in extra.items())
        (raw,) = await self.scripts.run_checked(
            "automation_run_finish",
            [
                keys.automation(run.automation_id),
                keys.automation_run(run.id),
                keys.events(keys.AUTO),
                keys.automation_runs_running(),
            ],
            [run.automation_id, run.id, _encode(run), run.status, extra_json, self.maxlen, int(only_if_running)],
        )
        return _decode(raw) if raw and raw != "null" else None

    async def fail_abandoned(self, now: int, *, older_than_ms: int = ABANDONED_RUN_MS) -> builtins.list[str]:
        """Runs still `running` long after they started lost their worker: record them failed (CAS)."""
        ids = await self.redis.zrangebyscore(keys.automation_runs_running(), "-inf", now - older_than_ms, 0, 200)
        failed: builtins.list[str] = []
        for run_id in ids:
            raw = await self.redis.get(keys.automation_run(run_id))
            if raw is None:
                await self.redis.zrem(keys.automation_runs_running(), run_id)
                continue
            run = _decode_run(raw)
            if run.status != "running":
                await self.redis.zrem(keys.automation_runs_running(), run_id)
                continue
            run.status, run.finished_at = "failed", now
            run.error = ABANDONED_TEXT
            await self.finish_run(run, {}, only_if_running=True)
            failed.append(run_id)
        return failed

    async def runs(self, *, automation_id: str | None, status: str | None, limit: int) -> builtins.list[AutomationRun]:
        index = keys.automation_runs_of(automation_id) if automation_id else keys.automation_runs()
        raws = await self.scripts.run("automation_runs_list", [index], [limit, status or "", RUN_SCAN_BUDGET])
        return _decode_runs("[" + ",".join(raws) + "]") if raws else []


def new_run(automation: Automation, trigger: Literal["schedule", "event", "manual"], **fields: Any) -> AutomationRun:
    now = now_ms()
    return AutomationRun(
        id=str(uuid.uuid4()),
        automation_id=automation.id,
        automation_name=automation.name,
        trigger=trigger,
        created_at=now,
        started_at=now,
        **fields,
    )
