"""The `relay` command: one command per area of the relay, tables for people, `--json` for scripts.

Everything goes through relay_client; `serve`, `worker` and `dev` are the server's own CLI, handed
over by exec (see relay_client.cli.server).
"""

from __future__ import annotations

import click

from relay_client.cli.agents import agents, orchestrators
from relay_client.cli.common import RelayGroup, options
from relay_client.cli.doctor import doctor
from relay_client.cli.events import events
from relay_client.cli.messages import claim, inbox, release, send
from relay_client.cli.recipes import automations, recipes
from relay_client.cli.server import dev, mcp, serve, worker
from relay_client.cli.tokens import token, tokens
from relay_client.cli.work import commands, tasks
from relay_client.orchestrator.cli import orchestrator
from relay_client.wire import version


@click.group(cls=RelayGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@options
@click.version_option(version(), "--version", "-V", prog_name="relay", message="%(prog)s %(version)s")
def root() -> None:
    """Agent Relay: talk to a relay (agents, messages, tasks, commands, recipes, ...) or run one.

    The relay is $AGENT_RELAY_URL (else the one `relay dev` runs here, else http://127.0.0.1:4850);
    the token $AGENT_RELAY_TOKEN (else $AGENT_RELAY_ADMIN_TOKEN, else `relay dev`'s admin token).
    """


for command in (
    serve,
    worker,
    dev,
    agents,
    orchestrators,
    send,
    inbox,
    claim,
    release,
    tasks,
    commands,
    recipes,
    automations,
    tokens,
    token,
    events,
    doctor,
    mcp,
    orchestrator,
):
    root.add_command(command)


def main(argv: list[str] | None = None) -> None:
    root.main(args=argv, prog_name="relay")


if __name__ == "__main__":
    main()
