"""`relay tasks …` and `relay commands …`."""

from __future__ import annotations

import functools
import sys

import click
import msgspec

from relay_client.cli.common import (
    ago,
    cell,
    client,
    clock,
    emit,
    emit_line,
    fields,
    options,
    parse_json,
    table,
    usage_error,
)
from relay_client.models import COMMAND_STATUSES, TASK_STATUSES, Command, Task

SEVERITIES = ("info", "warning", "critical")


@click.group(invoke_without_command=True)
@options
@click.pass_context
def tasks(ctx: click.Context) -> None:
    """Tasks: list (the default), show, create, claim, status."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(tasks_ls)


@tasks.command("ls")
@options
@click.option("--status", type=click.Choice(TASK_STATUSES))
@click.option("--target")
@click.option("--channel")
@click.option("--source")
@click.option("--claimed-by")
@click.option("--limit", type=int)
def tasks_ls(
    status: str | None = None,
    target: str | None = None,
    channel: str | None = None,
    source: str | None = None,
    claimed_by: str | None = None,
    limit: int | None = None,
) -> None:
    """List tasks, newest first."""
    found = client().tasks.list(
        status=status, target=target, channel=channel, source=source, claimed_by=claimed_by, limit=limit
    )
    emit(
        found,
        lambda: table(
            ["ID", "STATUS", "SEVERITY", "TITLE", "TARGET", "CLAIMED BY", "UPDATED"],
            ([t.id, t.status, t.severity, t.title, t.target, t.claimed_by, ago(t.updated_at)] for t in found),
            title="tasks",
        ),
    )


def show_task(task: Task) -> None:
    fields(
        [
            ("id", task.id),
            ("title", task.title),
            ("status", task.status),
            ("severity", task.severity),
            ("target", task.target),
            ("claimed by", task.claimed_by),
            ("source", task.source),
            ("channel", task.channel),
            ("body", task.body),
            ("metadata", task.metadata),
            ("updated", ago(task.updated_at)),
        ]
    )


@tasks.command("show")
@options
@click.argument("task_id", type=int)
def tasks_show(task_id: int) -> None:
    """Show a task and its history."""
    relay = client()
    task = relay.tasks.get(task_id)
    history = relay.tasks.history(task_id)

    def human() -> None:
        show_task(task)
        table(
            ["AT", "ACTION", "STATUS", "AGENT", "NOTE"],
            ([clock(e.at), e.action, e.status, e.agent_id, e.note] for e in history),
            title="history",
        )

    emit({"task": task, "history": history}, human)


@tasks.command("create")
@options
@click.argument("title")
@click.option("--body")
@click.option("--severity", type=click.Choice(SEVERITIES))
@click.option("--target", help="The agent it is for (it gets a task message).")
@click.option("--channel")
@click.option("--type", "type_")
@click.option("--metadata", help="A JSON object.")
def tasks_create(
    title: str,
    body: str | None,
    severity: str | None,
    target: str | None,
    channel: str | None,
    type_: str | None,
    metadata: str | None,
) -> None:
    """Create a task."""
    meta = parse_json(metadata, "--metadata")
    task = client().tasks.create(
        title, body=body, severity=severity, target=target, channel=channel, type=type_, metadata=meta
    )
    emit(task, lambda: click.echo(f"task {task.id} created"))


@tasks.command("claim")
@options
@click.argument("task_id", type=int)
@click.option("--agent", "agent_id", required=True)
@click.option("--ttl-ms", type=int)
def tasks_claim(task_id: int, agent_id: str, ttl_ms: int | None) -> None:
    """Claim a task for an agent (exactly one agent wins)."""
    task = client().tasks.claim(task_id, agent_id, ttl_ms=ttl_ms)
    emit(task, lambda: click.echo(f"task {task.id} claimed by {task.claimed_by}"))


@tasks.command("status")
@options
@click.argument("task_id", type=int)
@click.argument("status", type=click.Choice(TASK_STATUSES))
@click.option("--agent", "agent_id", help="The agent reporting (holds the claim for claimed/in_progress/blocked).")
@click.option("--note")
def tasks_status(task_id: int, status: str, agent_id: str | None, note: str | None) -> None:
    """Change a task's status."""
    task = client().tasks.set_status(task_id, status, agent_id=agent_id, note=note)
    emit(task, lambda: click.echo(f"task {task.id} is {task.status}"))


@click.group(invoke_without_command=True)
@options
@click.pass_context
def commands(ctx: click.Context) -> None:
    """Commands: list (the default), show, watch, create, cancel."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(commands_ls)


def command_row(c: Command) -> list[object]:
    return [c.id, c.type, c.target, c.status, c.source, ago(c.updated_at or c.created_at), c.error]


COMMAND_COLUMNS = ["ID", "TYPE", "TARGET", "STATUS", "SOURCE", "UPDATED", "ERROR"]


@commands.command("ls")
@options
@click.option("--target")
@click.option("--status", type=click.Choice(COMMAND_STATUSES))
@click.option("--type", "type_")
@click.option("--since", type=int, help="createdAt (ms) from which on, oldest first.")
@click.option("--limit", type=int)
def commands_ls(
    target: str | None = None,
    status: str | None = None,
    type_: str | None = None,
    since: int | None = None,
    limit: int | None = None,
) -> None:
    """List commands (oldest first; without --since the newest ones)."""
    found = client().commands.list(target=target, status=status, type=type_, since=since, limit=limit)
    emit(found, lambda: table(COMMAND_COLUMNS, map(command_row, found), title="commands"))


def show_command(c: Command) -> None:
    fields(
        [
            ("id", c.id),
            ("type", c.type),
            ("status", c.status),
            ("source", c.source),
            ("target", c.target),
            ("params", c.params),
            ("result", c.result),
            ("error", c.error),
            ("correlation", c.correlation_id),
            ("created", ago(c.created_at)),
            ("expires", clock(c.expires_at)),
        ]
    )


@commands.command("show")
@options
@click.argument("command_id")
def commands_show(command_id: str) -> None:
    """Show one command."""
    command = client().commands.get(command_id)
    emit(command, lambda: show_command(command))


@commands.command("create")
@options
@click.argument("type_", metavar="TYPE")
@click.option("--target", required=True)
@click.option("--source", default="user", show_default=True)
@click.option("--params", help="A JSON object.")
@click.option("--ttl-ms", type=int)
@click.option("--correlation-id")
def commands_create(
    type_: str, target: str, source: str, params: str | None, ttl_ms: int | None, correlation_id: str | None
) -> None:
    """Queue a command for a target."""
    data = parse_json(params, "--params")
    if data is not None and not isinstance(data, dict):
        usage_error("--params must be a JSON object")
    command = client().commands.create(
        type_, source=source, target=target, params=data, ttl_ms=ttl_ms, correlation_id=correlation_id
    )
    emit(command, lambda: click.echo(f"{command.id} {command.status}"))


@commands.command("cancel")
@options
@click.argument("command_id")
def commands_cancel(command_id: str) -> None:
    """Cancel a command that has not finished."""
    client().commands.cancel(command_id)
    emit({"ok": True}, lambda: click.echo(f"{command_id} canceled"))


def _command_line(c: Command) -> str:
    tail = f"  {c.error}" if c.error else f"  {cell(c.result)}" if c.result else ""
    return f"{clock(c.updated_at or c.created_at)}  {c.id}  {c.type} → {c.target}  {c.status}{tail}"


@commands.command("watch")
@options
@click.argument("command_id", required=False)
@click.option("--target", help="Only commands for this target.")
@click.option("--type", "type_", help="Only commands of this type.")
def commands_watch(command_id: str | None, target: str | None, type_: str | None) -> None:
    """Follow commands live. With COMMAND_ID: its state now, then each change until it is final
    (exit 0 if it succeeded, else 1)."""
    relay = client()
    stream = relay.events(types=["command.*"])
    shown: dict[str, tuple[int, str]] = {}

    def show(command: Command) -> None:
        # The snapshot and the stream overlap: a change already shown (or older) is not shown again.
        seen = shown.get(command.id)
        if seen is not None and (command.updated_at, command.status) <= seen:
            return
        shown[command.id] = (command.updated_at, command.status)
        emit_line(command, functools.partial(click.echo, _command_line(command)))

    try:
        with stream:
            stream.connect()
            if command_id is not None:
                current = relay.commands.get(command_id)
                show(current)
                if current.final:
                    sys.exit(0 if current.status == "succeeded" else 1)
            for event in stream:
                raw = event.data.get("command")
                if not isinstance(raw, dict):
                    continue
                command = msgspec.convert(raw, Command)
                if command_id is not None and command.id != command_id:
                    continue
                if (target and command.target != target) or (type_ and command.type != type_):
                    continue
                show(command)
                if command_id is not None and command.final:
                    sys.exit(0 if command.status == "succeeded" else 1)
    except KeyboardInterrupt:
        return
