"""`relay agents` and `relay orchestrators`."""

from __future__ import annotations

import click

from relay_client.cli.common import ago, client, emit, fields, options, table
from relay_client.models import AGENT_KINDS, AGENT_STATUSES, Agent, Orchestrator


@click.group(invoke_without_command=True)
@options
@click.pass_context
def agents(ctx: click.Context) -> None:
    """Agents: list (the default), show, remove."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(agents_ls)


@agents.command("ls")
@options
@click.option("--status", type=click.Choice(AGENT_STATUSES))
@click.option("--tag")
@click.option("--kind", type=click.Choice(AGENT_KINDS))
@click.option("--capability")
def agents_ls(
    status: str | None = None, tag: str | None = None, kind: str | None = None, capability: str | None = None
) -> None:
    """List agents (in registration order)."""
    found = client().agents.list(status=status, tag=tag, kind=kind, capability=capability)
    emit(
        found,
        lambda: table(
            ["ID", "KIND", "STATUS", "LABEL", "TAGS", "CAPABILITIES", "SEEN"],
            ([a.id, a.kind, a.status, a.label, a.tags, a.capabilities, ago(a.last_seen)] for a in found),
            title="agents",
        ),
    )


def show_agent(agent: Agent) -> None:
    fields(
        [
            ("id", agent.id),
            ("name", agent.name),
            ("kind", agent.kind),
            ("status", agent.status),
            ("label", agent.label),
            ("tags", agent.tags),
            ("capabilities", agent.capabilities),
            ("provider", agent.provider),
            ("model", agent.model),
            ("host", agent.host),
            ("cwd", agent.cwd),
            ("pid", agent.pid),
            ("orchestrator", agent.orchestrator_id),
            ("last seen", ago(agent.last_seen)),
            ("meta", agent.meta),
        ]
    )


@agents.command("show")
@options
@click.argument("agent_id")
def agents_show(agent_id: str) -> None:
    """Show one agent's card."""
    agent = client().agents.get(agent_id)
    emit(agent, lambda: show_agent(agent))


@agents.command("rm")
@options
@click.argument("agent_id")
def agents_rm(agent_id: str) -> None:
    """Remove an agent (its inbox and card)."""
    client().agents.delete(agent_id)
    emit({"ok": True}, lambda: click.echo(f"removed {agent_id}"))


@click.group(invoke_without_command=True)
@options
@click.pass_context
def orchestrators(ctx: click.Context) -> None:
    """Orchestrators (the host daemons that spawn agents): list (the default), show."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(orchestrators_ls)


@orchestrators.command("ls")
@options
def orchestrators_ls() -> None:
    """List orchestrators."""
    found = client().orchestrators.list()
    emit(
        found,
        lambda: table(
            ["ID", "HOST", "STATUS", "PROVIDERS", "AGENTS", "VERSION", "SEEN"],
            ([o.id, o.hostname, o.status, o.providers, len(o.agents), o.version, ago(o.last_seen)] for o in found),
            title="orchestrators",
        ),
    )


def show_orchestrator(orch: Orchestrator) -> None:
    fields(
        [
            ("id", orch.id),
            ("agent card", orch.agent_id),
            ("host", orch.hostname),
            ("status", orch.status),
            ("providers", orch.providers),
            ("base dir", orch.base_dir),
            ("api", orch.api_url),
            ("version", orch.version),
            ("protocol", orch.protocol_version),
            ("last seen", ago(orch.last_seen)),
            ("agents", [a.get("id", a) for a in orch.agents]),
        ]
    )


@orchestrators.command("show")
@options
@click.argument("orchestrator_id")
def orchestrators_show(orchestrator_id: str) -> None:
    """Show one orchestrator."""
    orch = client().orchestrators.get(orchestrator_id)
    emit(orch, lambda: show_orchestrator(orch))
