"""`relay recipes …` (with `start --watch`) and `relay automations …`."""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import msgspec
import yaml
from rich.live import Live
from rich.table import Table

from relay_client import EventStream
from relay_client.cli.common import (
    ago,
    cell,
    client,
    clock,
    emit,
    emit_line,
    fields,
    json_mode,
    options,
    out,
    parse_json,
    table,
    usage_error,
)
from relay_client.models import LoadedRecipe, RecipeInstance, RecipeRun

INSTANCE_STATUSES = ("running", "succeeded", "failed", "stopped")
RUN_STATUSES = ("running", "succeeded", "failed")


@click.group(invoke_without_command=True)
@options
@click.pass_context
def recipes(ctx: click.Context) -> None:
    """Recipes: list (the default), show, start [--watch], instances, stop."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(recipes_ls)


@recipes.command("ls")
@options
def recipes_ls() -> None:
    """List the recipes the relay can run."""
    found = client().recipes.list()
    emit(
        found,
        lambda: table(
            ["NAME", "SOURCE", "ROLES", "STEPS", "DESCRIPTION"],
            ([r.name, r.source, list(r.recipe.roles), len(r.recipe.steps), r.recipe.description] for r in found),
            title="recipes",
        ),
    )


def show_recipe(loaded: LoadedRecipe) -> None:
    recipe = loaded.recipe
    fields([("name", recipe.name), ("source", f"{loaded.source} ({loaded.path})"), ("about", recipe.description)])
    table(
        ["PARAMETER", "REQUIRED", "DEFAULT", "DESCRIPTION"],
        ([p.name, p.required, p.default, p.description] for p in recipe.parameters),
        title="parameters",
    )
    table(
        ["ROLE", "PROVIDER", "LABEL", "APPROVAL"],
        ([name, r.provider, r.label, r.approval_mode] for name, r in recipe.roles.items()),
        title="roles",
    )
    table(
        ["STEP", "ROLE", "ACTION", "NEEDS", "ON FAILURE"],
        ([s.id, s.role, s.action, s.needs, s.on_failure] for s in recipe.steps),
        title="steps",
    )


@recipes.command("show")
@options
@click.argument("name")
def recipes_show(name: str) -> None:
    """Show a recipe: its parameters, roles and steps."""
    loaded = client().recipes.get(name)
    emit(loaded, lambda: show_recipe(loaded))


def steps_table(instance: RecipeInstance) -> Table:
    grid = Table("STEP", "ROLE", "ACTION", "STATUS", "ATTEMPT", "ERROR", box=None, header_style="bold", pad_edge=False)
    for step in instance.steps:
        grid.add_row(step.id, step.role, step.action, step.status, cell(step.attempt), cell(step.error))
    grid.title = f"{instance.recipe_name} {instance.id}: {instance.status}"
    return grid


def show_instance(instance: RecipeInstance) -> None:
    out.print(steps_table(instance))
    if instance.error:
        out.print(f"error: {instance.error}", markup=False)


def _parameters(pairs: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            usage_error(f"--param takes NAME=VALUE, got {pair!r}")
        values[name] = value
    return values


@recipes.command("start")
@options
@click.argument("name", required=False)
@click.option(
    "--file",
    "file_",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Start the recipe in this YAML or JSON file instead of a named one.",
)
@click.option("--param", "-p", "params", multiple=True, help="NAME=VALUE (repeat for each parameter).")
@click.option("--cwd", help="The working directory its agents start in.")
@click.option("--orchestrator", "orchestrator_id", help="Run its agents on this orchestrator.")
@click.option("--started-by", default="cli", show_default=True)
@click.option("--watch", "-w", is_flag=True, help="Show each step's progress live until the instance ends.")
def recipes_start(
    name: str | None,
    file_: Path | None,
    params: tuple[str, ...],
    cwd: str | None,
    orchestrator_id: str | None,
    started_by: str,
    watch: bool,
) -> None:
    """Start recipe NAME (or --file). With --watch the exit code says how it ended (0 succeeded, 1 otherwise)."""
    if (name is None) == (file_ is None):
        usage_error("name a recipe or give --file, one of the two")
    recipe = None
    if file_ is not None:
        try:
            recipe = yaml.safe_load(file_.read_text())
        except yaml.YAMLError as exc:
            usage_error(f"{file_} is not YAML or JSON: {exc}")
        if not isinstance(recipe, dict):
            usage_error(f"{file_} must hold a recipe (a mapping)")
    relay = client()
    stream = relay.events(types=["recipe.*"]) if watch else None
    if stream is not None:
        stream.connect()  # before the start, so no step event is missed
    run = relay.recipes.start(
        name,
        recipe=recipe,
        cwd=cwd,
        orchestrator_id=orchestrator_id,
        started_by=started_by,
        parameters=_parameters(params) or None,
    )
    if stream is None:
        emit(run, lambda: show_start(run))
        return
    with stream:
        try:
            instance = follow_instance(stream, run.instance)
        except KeyboardInterrupt:
            sys.exit(130)
    sys.exit(0 if instance.status == "succeeded" else 1)


def show_start(run: RecipeRun) -> None:
    show_instance(run.instance)
    click.echo(f"issued: {', '.join(f'{c.type} → {c.target}' for c in run.commands) or 'nothing yet'}")


def follow_instance(stream: EventStream, instance: RecipeInstance) -> RecipeInstance:
    """Print the instance on every change of it until it ends (a live table on a terminal)."""

    def changes() -> Iterator[RecipeInstance]:
        nonlocal instance
        yield instance
        if instance.final:
            return
        for event in stream:
            raw = event.data.get("instance")
            if event.subject != instance.id or not isinstance(raw, dict):
                continue
            instance = msgspec.convert(raw, RecipeInstance)
            yield instance
            if instance.final:
                return

    if out.is_terminal and not json_mode():
        with Live(steps_table(instance), console=out, refresh_per_second=8) as live:
            for current in changes():
                live.update(steps_table(current))
        if instance.error:
            out.print(f"error: {instance.error}", markup=False)
        return instance
    seen: dict[str, str] = {}
    for current in changes():
        emit_line(current, functools.partial(_step_lines, current, seen))
    return instance


def _step_lines(instance: RecipeInstance, seen: dict[str, str]) -> None:
    """Without a terminal: one line per step whose status changed, and one when the instance ends."""
    for step in instance.steps:
        if seen.get(step.id) != step.status:
            seen[step.id] = step.status
            error = f"  {step.error}" if step.error else ""
            at = clock(step.ended_at or step.started_at)
            click.echo(f"{at}  {step.id} ({step.role} {step.action}): {step.status}{error}")
    if instance.final:
        error = f": {instance.error}" if instance.error else ""
        click.echo(f"{instance.recipe_name} {instance.id}: {instance.status}{error}")


@recipes.command("instances")
@options
@click.argument("instance_id", required=False)
@click.option("--status", type=click.Choice(INSTANCE_STATUSES))
@click.option("--limit", type=int)
def recipes_instances(instance_id: str | None, status: str | None, limit: int | None) -> None:
    """List recipe instances (newest first), or show one with its steps."""
    relay = client()
    if instance_id is not None:
        instance = relay.recipes.instance(instance_id)
        emit(instance, lambda: show_instance(instance))
        return
    found = relay.recipes.instances(status=status, limit=limit)
    emit(
        found,
        lambda: table(
            ["ID", "RECIPE", "STATUS", "STEPS DONE", "STARTED BY", "STARTED", "ERROR"],
            (
                [
                    i.id,
                    i.recipe_name,
                    i.status,
                    f"{sum(s.status == 'succeeded' for s in i.steps)}/{len(i.steps)}",
                    i.started_by,
                    ago(i.created_at),
                    i.error,
                ]
                for i in found
            ),
            title="recipe instances",
        ),
    )


@recipes.command("stop")
@options
@click.argument("instance_id")
@click.option("--stopped-by", default="cli", show_default=True)
def recipes_stop(instance_id: str, stopped_by: str) -> None:
    """Stop a running instance (its open commands are canceled, its agents shut down)."""
    run = client().recipes.stop(instance_id, stopped_by=stopped_by)
    emit(run, lambda: show_start(run))


@click.group(invoke_without_command=True)
@options
@click.pass_context
def automations(ctx: click.Context) -> None:
    """Automations: list (the default), show, create, run, runs, rm."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(automations_ls)


def _trigger_text(trigger: dict[str, object]) -> str:
    if trigger.get("type") == "schedule":
        zone = f" ({trigger['timezone']})" if trigger.get("timezone") else ""
        return f"cron {trigger.get('cron')}{zone}"
    return f"on {trigger.get('event')}"


@automations.command("ls")
@options
def automations_ls() -> None:
    """List automations."""
    found = client().automations.list()
    emit(
        found,
        lambda: table(
            ["ID", "NAME", "ENABLED", "TRIGGER", "ACTION", "NEXT RUN", "LAST RUN"],
            (
                [
                    a.id,
                    a.name,
                    a.enabled,
                    _trigger_text(a.trigger),
                    a.action.get("type"),
                    clock(a.next_run_at),
                    f"{a.last_run_status or ''} {ago(a.last_run_at)}".strip(),
                ]
                for a in found
            ),
            title="automations",
        ),
    )


@automations.command("show")
@options
@click.argument("automation_id")
def automations_show(automation_id: str) -> None:
    """Show one automation."""
    found = client().automations.get(automation_id)
    emit(
        found,
        lambda: fields(
            [
                ("id", found.id),
                ("name", found.name),
                ("enabled", found.enabled),
                ("trigger", found.trigger),
                ("action", found.action),
                ("next run", clock(found.next_run_at)),
                ("last run", f"{found.last_run_status or ''} {ago(found.last_run_at)}".strip()),
            ]
        ),
    )


@automations.command("create")
@options
@click.argument("name")
@click.option("--cron", help="A cron schedule (5 fields, or 6 with seconds first).")
@click.option("--timezone", help="An IANA time zone for --cron (default UTC).")
@click.option("--event", "event_type", help="Run on this relay event type instead (e.g. task.created).")
@click.option("--filter", "filter_", help="With --event: a JSON object of path: expected pairs.")
@click.option("--action", "action", help='The action as JSON, e.g. {"type": "message", "message": {...}}.')
@click.option("--file", "file_", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The whole automation (name may be overridden) as a JSON file.")
@click.option("--disabled", is_flag=True, help="Create it switched off.")
def automations_create(
    name: str,
    cron: str | None,
    timezone: str | None,
    event_type: str | None,
    filter_: str | None,
    action: str | None,
    file_: Path | None,
    disabled: bool,
) -> None:
    """Create an automation: a trigger (--cron or --event) and an --action, or a --file."""
    base: dict[str, object] = {}
    if file_ is not None:
        loaded = parse_json(file_.read_text(), str(file_))
        if not isinstance(loaded, dict):
            usage_error(f"{file_} must hold a JSON object")
        base = loaded
    trigger = base.get("trigger")
    if cron is not None and event_type is not None:
        usage_error("give --cron or --event, not both")
    if cron is not None:
        trigger = {"type": "schedule", "cron": cron, **({"timezone": timezone} if timezone else {})}
    elif event_type is not None:
        trigger = {"type": "event", "event": event_type}
        if filter_ is not None:
            trigger["filter"] = parse_json(filter_, "--filter")
    act = parse_json(action, "--action") if action is not None else base.get("action")
    if not isinstance(trigger, dict) or not isinstance(act, dict):
        usage_error("an automation needs a trigger (--cron or --event) and an --action (or a --file with both)")
    enabled = False if disabled else base.get("enabled")
    created = client().automations.create(
        name, trigger=trigger, action=act, enabled=enabled if isinstance(enabled, bool) else None, created_by="cli"
    )
    emit(created, lambda: click.echo(f"automation {created.id} created ({_trigger_text(created.trigger)})"))


@automations.command("run")
@options
@click.argument("automation_id")
def automations_run(automation_id: str) -> None:
    """Run an automation now (also when disabled)."""
    result = client().automations.run(automation_id)
    made = [
        f"{kind} {value}"
        for kind, value in (
            ("command", result.command.id if result.command else None),
            ("message", result.message.id if result.message else None),
            ("task", result.task.id if result.task else None),
            ("recipe instance", result.instance.id if result.instance else None),
        )
        if value is not None
    ]
    error = f": {result.run.error}" if result.run.error else ""
    created = f" ({', '.join(made)})" if made else ""
    emit(result, lambda: click.echo(f"run {result.run.id} {result.run.status}{error}{created}"))


@automations.command("runs")
@options
@click.option("--automation", "automation_id")
@click.option("--status", type=click.Choice(RUN_STATUSES))
@click.option("--limit", type=int)
def automations_runs(automation_id: str | None, status: str | None, limit: int | None) -> None:
    """List automation runs, newest first."""
    found = client().automations.runs(automation_id=automation_id, status=status, limit=limit)
    emit(
        found,
        lambda: table(
            ["RUN", "AUTOMATION", "TRIGGER", "STATUS", "STARTED", "ERROR"],
            (
                [r.id, r.automation_name or r.automation_id, r.trigger, r.status, ago(r.started_at), r.error]
                for r in found
            ),
            title="runs",
        ),
    )


@automations.command("rm")
@options
@click.argument("automation_id")
def automations_rm(automation_id: str) -> None:
    """Delete an automation."""
    client().automations.delete(automation_id)
    emit({"ok": True}, lambda: click.echo(f"removed {automation_id}"))

