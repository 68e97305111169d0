"""`relay send`, `relay inbox [--follow]`, `relay claim`, `relay release`."""

from __future__ import annotations

import functools

import click

from relay_client.cli.common import client, clock, emit, emit_line, options, parse_json, usage_error
from relay_client.models import MESSAGE_KINDS, Message


def message_line(message: Message) -> str:
    subject = f"[{message.subject}] " if message.subject else ""
    claim = ""
    if message.claimed_by:
        claim = f"  (claimed by {message.claimed_by})"
    elif message.claimable:
        claim = "  (claimable)"
    reply = f" ↩{message.reply_to}" if message.reply_to else ""
    route = f"{message.from_} → {message.to}{reply}"
    return f"#{message.id}  {clock(message.created_at)}  {route}  {subject}{message.body}{claim}"


@click.command()
@options
@click.option("--from", "from_", required=True, help="The sending agent.")
@click.option("--to", help="An agent id, tag:<t>, cap:<c>, label:<l> or broadcast (omit with --reply-to).")
@click.option("--subject")
@click.option("--kind", type=click.Choice(MESSAGE_KINDS), default=None)
@click.option("--reply-to", type=int, help="The id of the message this answers.")
@click.option("--idempotency-key", help="A repeat with this key is stored once (and may safely be retried).")
@click.option("--claimable", is_flag=True, default=None, help="Only one recipient should take it (they claim it).")
@click.option("--payload", help="A JSON object to attach.")
@click.argument("text")
def send(
    from_: str,
    text: str,
    to: str | None = None,
    subject: str | None = None,
    kind: str | None = None,
    reply_to: int | None = None,
    idempotency_key: str | None = None,
    claimable: bool | None = None,
    payload: str | None = None,
) -> None:
    """Send TEXT as a message."""
    if to is None and reply_to is None:
        usage_error("--to is required (or give --reply-to to answer a message)")
    data = parse_json(payload, "--payload")
    if data is not None and not isinstance(data, dict):
        usage_error("--payload must be a JSON object")
    sent = client().messages.send(
        from_,
        to,
        text,
        subject=subject,
        kind=kind,
        reply_to=reply_to,
        idempotency_key=idempotency_key,
        claimable=claimable,
        payload=data,
    )
    emit(sent, lambda: click.echo(f"sent #{sent.id} to {sent.to}"))


def print_messages(messages: list[Message]) -> None:
    for message in messages:
        click.echo(message_line(message))
    if not messages:
        click.echo("(no messages)")


def _concerns(message: dict[str, object], agent_id: str) -> bool:
    """Whether a new message may be in the agent's inbox (fan-out and broadcast are resolved by the relay)."""
    to = str(message.get("to", ""))
    return to == agent_id or to == "broadcast" or ":" in to


@click.command()
@options
@click.argument("agent_id")
@click.option("--since", type=int, default=None, help="Only messages after this id.")
@click.option("--unread", is_flag=True, help="Start at the agent's read cursor (what it has not read).")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new messages as they arrive (Ctrl-C ends).")
def inbox(agent_id: str, since: int | None, unread: bool, limit: int, follow: bool) -> None:
    """Show an agent's inbox: direct, fan-out and broadcast messages, oldest first."""
    relay = client()
    if unread:
        since = relay.messages.cursor(agent_id).cursor
    stream = relay.events(types=["message.created"]) if follow else None
    if stream is not None:
        stream.connect()  # before the first read, so nothing sent meanwhile is missed
    page = relay.messages.inbox(agent_id, since=since, limit=limit)
    if not follow:
        emit(page, functools.partial(print_messages, page))
        return
    assert stream is not None
    last = since or 0
    try:
        with stream:
            while True:
                for message in page:
                    emit_line(message, functools.partial(click.echo, message_line(message)))
                    last = max(last, message.id)
                for event in stream:
                    found = event.data.get("message")
                    if isinstance(found, dict) and _concerns(found, agent_id):
                        break
                page = relay.messages.inbox(agent_id, since=last, limit=500)
    except KeyboardInterrupt:
        return


@click.command()
@options
@click.argument("message_id", type=int)
@click.option("--agent", "agent_id", required=True, help="The agent that claims it.")
@click.option("--ttl-ms", type=int, help="Claim lifetime (relay default: AGENT_RELAY_CLAIM_TTL_MS).")
def claim(message_id: int, agent_id: str, ttl_ms: int | None) -> None:
    """Claim a claimable message for an agent (exactly one agent wins)."""
    message = client().messages.claim(message_id, agent_id, ttl_ms=ttl_ms)
    emit(message, lambda: click.echo(f"#{message.id} claimed by {message.claimed_by}"))


@click.command()
@options
@click.argument("message_id", type=int)
@click.option("--agent", "agent_id", help="Release only this agent's claim.")
def release(message_id: int, agent_id: str | None) -> None:
    """Release a message's claim."""
    message = client().messages.release(message_id, agent_id)
    emit(message, lambda: click.echo(f"#{message.id} released"))
