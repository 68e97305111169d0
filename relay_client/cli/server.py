"""`relay serve|worker|dev` (the server's own CLI) and `relay mcp` (an agent's MCP server).

The server commands are handed to `python -m relay_api.cli` by replacing this process: the client
never imports the server, and flags, signals and exit codes stay exactly the server CLI's own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

import click

from relay_client import config
from relay_client.cli.common import NO_TOKEN, options, usage_error

PASS_THROUGH = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}


def _exec_server(name: str, args: tuple[str, ...]) -> None:
    argv = [sys.executable, "-m", "relay_api.cli", name, *args]
    try:
        os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter running our own server CLI
    except OSError as exc:
        usage_error(f"cannot start the server CLI ({' '.join(argv)}): {exc}")


def _server_command(name: str, summary: str) -> click.Command:
    @click.command(name, context_settings=PASS_THROUGH, add_help_option=False, help=summary, short_help=summary)
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def command(args: tuple[str, ...]) -> None:
        _exec_server(name, args)

    return command


serve = _server_command("serve", "Run one API node under uvicorn (the server's CLI; --help for its flags).")
worker = _server_command("worker", "Run one background worker (arq).")
dev = _server_command("dev", "Run a whole relay here: API node + worker (+ embedded Redis when REDIS_URL is unset).")


@click.command()
@options
@click.option(
    "--agent-id",
    envvar="AGENT_RELAY_AGENT_ID",
    required=True,
    help="The agent this server speaks for (default $AGENT_RELAY_AGENT_ID, which orchestrators set).",
)
@click.option("--name", help="Display name when the card is new.")
@click.option("--label", help="Label when the card is new (label:<l> messages reach it).")
@click.option("--tag", "tags", multiple=True, help="Tag when the card is new (repeat; tag:<t> messages reach it).")
@click.option("--capability", "capabilities", multiple=True, help="Capability when the card is new (repeat).")
@click.option("--provider", help="e.g. claude or codex, when the card is new.")
@click.option("--model", help="The model, when the card is new.")
@click.option("--http", is_flag=True, help="Serve streamable HTTP (at /mcp) instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --http.")
@click.option("--port", type=int, default=4851, show_default=True, help="With --http.")
@click.option("--heartbeat-s", type=float, default=20.0, show_default=True, help="Heartbeat interval.")
@click.option("--verbose", "-v", is_flag=True, help="Log to stderr what the server does.")
@click.pass_context
def mcp(
    ctx: click.Context,
    agent_id: str,
    name: str | None,
    label: str | None,
    tags: tuple[str, ...],
    capabilities: tuple[str, ...],
    provider: str | None,
    model: str | None,
    http: bool,
    host: str,
    port: int,
    heartbeat_s: float,
    verbose: bool,
) -> None:
    """An MCP server for one agent: stdio by default (for Claude Code, Codex, ...), --http for streamable HTTP.

    On start it adopts the agent's card (or registers it) and heartbeats it while it runs.
    """
    from relay_client.mcp.server import serve as serve_mcp
    from relay_client.mcp.session import CardFields

    # stdout carries the MCP protocol on stdio: everything else goes to stderr.
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(stream=sys.stderr, level=level, format="relay mcp: %(message)s")
    target = config.resolve(ctx.meta.get("relay.url"), ctx.meta.get("relay.token"))
    if not target.token:
        usage_error(NO_TOKEN)
    card = CardFields(
        name=name, label=label, tags=list(tags), capabilities=list(capabilities), provider=provider, model=model
    )
    asyncio.run(
        serve_mcp(
            agent_id,
            url=target.url,
            token=target.token,
            card=card,
            http=http,
            host=host,
            port=port,
            heartbeat_s=heartbeat_s,
        )
    )
