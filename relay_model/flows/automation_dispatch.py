"""Running automations: one run per occasion (a cron slot, an event, a manual run), whichever node asks.

- `run_now` — `POST /api/automations/:id/run`.
- `dispatch_due` — the worker's schedule pass: each due slot is claimed by a compare-and-set on the due
  set plus a set-once key per (automation, slot), so it runs once however many workers tick.
- `dispatch_events` — the worker's event pass: reads every event stream through one consumer group
  (`automations`), so each event reaches one worker; a set-once key per (automation, event) keeps a
  redelivered event from running an automation twice. Events of `automation.*` never trigger.

Event filters. `filter` is an object of `path: expected` pairs, all of which must match. A path is
dotted (`task.metadata.repo`) and is looked up in the event's `data` and, failing that, inside each
object at the top of `data` (so `{"severity": "critical"}` matches `data.task.severity` of a
`task.created` event). A scalar matches an equal value, or a list that contains it; a list of
expected values matches any of them. An automation sees only events emitted after it was created,
and never the events of the tasks its own task action created (no run feeds the next).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Literal, Protocol

import msgspec
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from relay_model import keys
from relay_model.automations.automations import (
    ActionBody,
    Automation,
    AutomationRun,
    AutomationStore,
    EventTrigger,
    RunCreated,
    ScheduleTrigger,
    action_payload,
    new_run,
    reword,
)
from relay_model.automations.schedule import plan_firing
from relay_model.clock import now_ms
from relay_model.commands.commands import Command, CommandStore, CreateCommandInput, clean_object
from relay_model.connection import is_outage, log_failure
from relay_model.errors import Invalid, NotFound, RelayError
from relay_model.flows.integration_events import notify_target
from relay_model.messages.messages import Message, MessageStore, SendMessageInput
from relay_model.recipes.runner import RecipeInstance, RecipeRunner, RecipeStartInput
from relay_model.tasks.tasks import CreateTaskInput, NewTask, Task, TaskStore
from relay_model.validation import required_text

log = logging.getLogger("relay.automations")

CONSUMER_GROUP = "automations"
# A pending event not acknowledged for this long (its worker died) is taken over by another.
EVENT_RECLAIM_IDLE_MS = 60_000
EVENT_BATCH = 200
# Scheduled runs one worker dispatches at once.
DISPATCH_CONCURRENCY = 16
TRIGGER_GROUPS = tuple(g for g in keys.EVENT_GROUPS if g != keys.AUTO)


class Dispatching(Protocol):
    """What running automations uses of the relay."""

    redis: Redis
    automations: AutomationStore
    messages: MessageStore
    tasks: TaskStore
    commands: CommandStore
    recipes: RecipeRunner


class DispatchResult(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    """The seed's `AutomationDispatchResult`: the automation, its run and what the action created."""

    automation: Automation
    run: AutomationRun
    command: Command | None = None
    message: Message | None = None
    task: Task | None = None
    # A recipe action: the instance it started and the commands of its first steps.
    instance: RecipeInstance | None = None
    commands: list[Command] | None = None


async def _perform_message(relay: Dispatching, body: SendMessageInput, result: DispatchResult) -> RunCreated:
    message, _ = await relay.messages.send(body)
    result.message = message
    return RunCreated(message_id=message.id)


async def _perform_task(relay: Dispatching, body: CreateTaskInput, result: DispatchResult) -> RunCreated:
    metadata = {**(body.metadata or {}), "automationId": result.automation.id}
    task, _ = await relay.tasks.create(NewTask.from_input(body, source="automation", metadata=metadata))
    # As POST /api/tasks: a target agent is told with a `task` message.
    await notify_target(relay, task)
    result.task = task
    return RunCreated(task_id=task.id)


async def _perform_command(relay: Dispatching, body: CreateCommandInput, result: DispatchResult) -> RunCreated:
    command = await relay.commands.create_from(body)
    result.command = command
    return RunCreated(command_id=command.id)


async def _perform_recipe(relay: Dispatching, body: RecipeStartInput, result: DispatchResult) -> RunCreated:
    if body.started_by is None:
        body = msgspec.structs.replace(body, started_by=f"automation:{result.automation.id}")
    started = await relay.recipes.start(body)
    result.instance, result.commands = started.instance, started.commands
    return RunCreated(recipe_instance_id=started.instance.id, command_ids=[c.id for c in started.commands])


def _check_command(body: CreateCommandInput) -> None:
    for field in ("type", "source", "target"):
        try:
            required_text(getattr(body, field), field)
        except Invalid:
            raise Invalid(f"action.command.{field} required") from None
    try:
        clean_object(body.params, "params")
    except Invalid as exc:
        raise Invalid(f"action.command.{exc.message}") from None


def _check_recipe(body: RecipeStartInput) -> None:
    if body.name is None and body.recipe is None:
        raise Invalid("action.recipe.name required")


# Every action type: the request body its payload mirrors and the route's extra rules (checked when an
# automation is saved: `AutomationStore` gets this table), and the coroutine that carries it out.
AUTOMATION_ACTIONS: Final[Mapping[str, ActionBody]] = {
    "message": ActionBody(SendMessageInput),
    "task": ActionBody(CreateTaskInput),
    "command": ActionBody(CreateCommandInput, _check_command),
    "recipe": ActionBody(RecipeStartInput, _check_recipe),
}
Performer = Callable[[Dispatching, Any, DispatchResult], Awaitable[RunCreated]]
PERFORMERS: Final[Mapping[str, Performer]] = {
    "message": _perform_message,
    "task": _perform_task,
    "command": _perform_command,
    "recipe": _perform_recipe,
}


async def _perform(relay: Dispatching, automation: Automation, result: DispatchResult) -> RunCreated:
    kind = str(automation.action.__struct_config__.tag)
    spec, performer = AUTOMATION_ACTIONS.get(kind), PERFORMERS.get(kind)
    if spec is None or performer is None:
        raise RelayError(f"action {kind} is not available on this relay")
    # The payload decoded as the request body it mirrors.
    body = msgspec.convert(action_payload(automation.action), spec.body)
    return await performer(relay, body, result)


def _event_data(result: DispatchResult) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for name in ("command", "message", "task", "instance"):
        value = getattr(result, name)
        if value is not None:
            extra[name] = value
    return extra


async def dispatch(
    relay: Dispatching,
    automation: Automation,
    *,
    trigger: Literal["schedule", "event", "manual"],
    mode: Literal["slot", "event", "manual"],
    occasion: str = "",
    expected: int | None = None,
    next_at: int | None = None,
    **run_fields: Any,
) -> DispatchResult | None:
    """Start a run (once per occasion), carry out the action, record the outcome. None if not ours."""
    run = new_run(automation, trigger, **run_fields)
    started = await relay.automations.start_run(
        automation, run, mode=mode, occasion=occasion, expected=expected, next_at=next_at
    )
    if started is None:
        return None
    result = DispatchResult(automation=started, run=run)
    try:
        run.created = await _perform(relay, started, result)
        run.status = "succeeded"
    except RelayError as exc:
        run.status, run.error = "failed", exc.message
    except msgspec.ValidationError as exc:
        run.status, run.error = "failed", reword(f"action.{started.action.__struct_config__.tag}", exc)
    except Exception as exc:
        log_failure(log, exc, "automation %s run %s failed", automation.id, run.id)
        run.status, run.error = "failed", f"{type(exc).__name__}: {exc}"
    run.finished_at = now_ms()
    after = await relay.automations.finish_run(run, _event_data(result))
    result.automation = after or started
    return result


async def run_now(relay: Dispatching, automation_id: str) -> DispatchResult:
    automation = await relay.automations.require(automation_id)
    result = await dispatch(relay, automation, trigger="manual", mode="manual")
    assert result is not None  # a manual run is never de-duplicated
    return result


async def _fire_slot(
    relay: Dispatching, automation: Automation, score: int, at: int, grace_ms: int
) -> AutomationRun | None:
    assert isinstance(automation.trigger, ScheduleTrigger)
    trig = automation.trigger
    firing = plan_firing(trig.cron, trig.timezone, score, at, grace_ms)
    try:
        result = await dispatch(
            relay,
            automation,
            trigger="schedule",
            mode="slot",
            occasion=f"slot:{firing.slot}",
            expected=score,
            next_at=firing.next,
            scheduled_for=firing.slot,
            catch_up=firing.catch_up,
        )
    except NotFound:
        return None
    return result.run if result is not None else None


async def dispatch_due(
    relay: Dispatching, *, grace_ms: int, now: int | None = None, rounds: int = 20, batch: int = 100
) -> list[AutomationRun]:
    """Fire every due slot once. A slot late by more than `grace_ms` is a misfire (see automation_schedule).

    A batch is dispatched concurrently (bounded) and in random order, so several workers that read the
    same due entries mostly claim different ones instead of queueing behind each other's CAS.
    """
    fired: list[AutomationRun] = []
    gate = asyncio.Semaphore(DISPATCH_CONCURRENCY)

    async def fire(automation: Automation, score: int, at: int) -> AutomationRun | None:
        async with gate:
            try:
                return await _fire_slot(relay, automation, score, at, grace_ms)
            except Exception as exc:
                # Redis away: the whole tick is lost (and logged once by the worker), not this slot.
                if is_outage(exc):
                    raise
                # One broken automation (or a failed Redis call) must not keep the others of the batch
                # from firing; its entry stays due and is tried again next tick.
                log.exception("automation %s: scheduled slot %d not dispatched", automation.id, score)
                return None

    for _ in range(rounds):
        at = now if now is not None else now_ms()
        due = await relay.automations.due(at, limit=batch)
        if not due:
            break
        found = {a.id: a for a in await relay.automations.get_many([aid for aid, _ in due])}
        stale = [aid for aid, _ in due if not isinstance(getattr(found.get(aid), "trigger", None), ScheduleTrigger)]
        await relay.automations.unschedule(stale)
        jobs = [(found[aid], score) for aid, score in due if aid not in stale]
        random.shuffle(jobs)
        runs = await asyncio.gather(*(fire(automation, score, at) for automation, score in jobs))
        fired.extend(run for run in runs if run is not None)
        if now is not None and len(due) < batch:
            break
    return fired


def _lookup(data: Any, path: str) -> list[Any]:
    def follow(node: Any) -> tuple[bool, Any]:
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return False, None
            node = node[part]
        return True, node

    found, value = follow(data)
    if found:
        return [value]
    if isinstance(data, dict):
        return [v for ok, v in (follow(inner) for inner in data.values() if isinstance(inner, dict)) if ok]
    return []


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(expected, list):
        return any(_equal(actual, e) for e in expected)
    if isinstance(actual, list) and not isinstance(expected, list | dict):
        return expected in actual
    return bool(actual == expected)


def matches(flt: dict[str, Any] | None, data: Any) -> bool:
    """Whether an event's data satisfies an automation's filter (the rule in the module docstring)."""
    if not flt:
        return True
    return all(any(_equal(v, expected) for v in _lookup(data, path)) for path, expected in flt.items())


def _made_by(automation: Automation, data: Any) -> bool:
    """Whether the event is about a task this automation's own action created: an automation on
    `task.created` whose action creates a task would otherwise run again for every task it makes."""
    task = data.get("task") if isinstance(data, dict) else None
    metadata = task.get("metadata") if isinstance(task, dict) else None
    return isinstance(metadata, dict) and metadata.get("automationId") == automation.id


async def ensure_consumer_groups(relay: Dispatching) -> None:
    """Create the `automations` consumer group on every event stream (idempotent, from `$`)."""
    for group in TRIGGER_GROUPS:
        try:
            await relay.redis.xgroup_create(keys.events(group), CONSUMER_GROUP, id="$", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


async def _handle_events(
    relay: Dispatching, group: str, entries: list[tuple[str, dict[str, str]]]
) -> list[AutomationRun]:
    types = sorted({fields.get("t", "") for _, fields in entries if not fields.get("t", "").startswith("automation.")})
    if not types:
        return []
    pipe = relay.redis.pipeline(transaction=False)
    for etype in types:
        pipe.smembers(keys.automations_on(etype))
    listeners = {t: sorted(ids) for t, ids in zip(types, await pipe.execute(), strict=True) if ids}
    if not listeners:
        return []
    by_id = {a.id: a for a in await relay.automations.get_many(sorted({i for ids in listeners.values() for i in ids}))}
    fired: list[AutomationRun] = []
    for sid, fields in entries:
        ids = listeners.get(fields.get("t", ""))
        if not ids:
            continue
        ts = int(sid.split("-", 1)[0])
        data: Any = None
        for automation_id in ids:
            automation = by_id.get(automation_id)
            if automation is None or not automation.enabled or not isinstance(automation.trigger, EventTrigger):
                continue
            if ts < automation.created_at:
                continue
            if data is None:
                try:
                    data = msgspec.json.decode(fields.get("d", "null"))
                except msgspec.DecodeError:
                    data = {}
            if not matches(automation.trigger.filter, data) or _made_by(automation, data):
                continue
            result = await dispatch(
                relay,
                automation,
                trigger="event",
                mode="event",
                occasion=f"event:{group}:{sid}",
                event_type=fields.get("t"),
                event_id=f"{group}:{sid}",
            )
            if result is not None:
                fired.append(result.run)
    return fired


async def dispatch_events(relay: Dispatching, consumer: str) -> list[AutomationRun]:
    """Run the automations triggered by new events (and events a dead worker left unacknowledged)."""
    fired: list[AutomationRun] = []
    for group in TRIGGER_GROUPS:
        stream = keys.events(group)
        try:
            claimed = await relay.redis.xautoclaim(
                stream, CONSUMER_GROUP, consumer, EVENT_RECLAIM_IDLE_MS, start_id="0-0", count=EVENT_BATCH
            )
            reply = await relay.redis.xreadgroup(CONSUMER_GROUP, consumer, {stream: ">"}, count=EVENT_BATCH)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await ensure_consumer_groups(relay)
            continue
        entries = [e for e in (claimed[1] if claimed else []) if e and e[1]]
        for _, items in reply or []:
            entries.extend(items)
        if not entries:
            continue
        fired.extend(await _handle_events(relay, group, entries))
        await relay.redis.xack(stream, CONSUMER_GROUP, *[sid for sid, _ in entries])
    return fired


async def retire_consumer(relay: Dispatching, consumer: str) -> None:
    """A stopping worker removes its consumer from the `automations` groups, so consumers do not pile
    up over restarts. One with unacknowledged events stays: another worker reclaims those first."""
    for group in TRIGGER_GROUPS:
        stream = keys.events(group)
        try:
            consumers = await relay.redis.xinfo_consumers(stream, CONSUMER_GROUP)
        except ResponseError:
            continue  # no stream or no group: nothing to remove
        if any(c["name"] == consumer and int(c["pending"]) == 0 for c in consumers):
            await relay.redis.xgroup_delconsumer(stream, CONSUMER_GROUP, consumer)
