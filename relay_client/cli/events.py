"""`relay events`: tail the live event stream (it resumes by itself when a node restarts)."""

from __future__ import annotations

import functools
import json

import click

from relay_client.cli.common import client, clock, emit_line, options, split_csv
from relay_client.models import Event


def summary(event: Event) -> str:
    data = event.data
    for key in ("message", "command", "task", "agent", "instance", "pair", "automation", "run", "activity"):
        item = data.get(key)
        if isinstance(item, dict):
            status = item.get("status")
            text = item.get("body") or item.get("title") or item.get("type") or item.get("name") or ""
            if key == "message":
                text = f"{item.get('from')} → {item.get('to')}: {text}"
            return " ".join(str(p) for p in (status, text) if p)[:160]
    return json.dumps(data, ensure_ascii=False)[:160]


def event_line(event: Event) -> str:
    # `subject` is what the event is about (a message or task id, an agent id), `source` who caused it.
    return f"{clock(event.ts)}  {event.type:<24} {event.subject or '-'} by {event.source}  {summary(event)}"


@click.command()
@options
@click.option("--types", help="Comma-separated event types; `agent.*` matches a prefix (default: every event).")
@click.option("--agent", "agent_id", help="Only events about this agent.")
@click.option("--last-event-id", help="Resume after this event id (printed with --json).")
def events(types: str | None, agent_id: str | None, last_event_id: str | None) -> None:
    """Tail the live event stream until Ctrl-C (--json: one event per line, with its id)."""
    stream = client().events(types=split_csv(types), agent_id=agent_id, last_event_id=last_event_id)
    try:
        with stream:
            for event in stream:
                emit_line(event, functools.partial(click.echo, event_line(event)))
    except KeyboardInterrupt:
        return
