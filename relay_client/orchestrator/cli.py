"""`relay orchestrator --id ID [--base-dir DIR] [--providers claude,codex] [--api-port P] …`

Also runnable on its own: `python -m relay_client.orchestrator …` (the same options).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

import click

from relay_client import AsyncClient, RelayError, config
from relay_client.orchestrator.adapters import ADAPTERS
from relay_client.orchestrator.config import PROVIDERS, OrchestratorConfig, default_state_dir
from relay_client.orchestrator.daemon import Orchestrator

NO_TOKEN = (
    "no token: set AGENT_RELAY_TOKEN to an orchestrator token (`relay tokens create --role orchestrator "  # noqa: S105
    "--sub <id>`) or the admin token"
)


def _providers(value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))
    bad = [p for p in names if p not in PROVIDERS]
    if bad or not names:
        raise click.BadParameter(f"providers are a comma-separated list of: {', '.join(PROVIDERS)}")
    return names


def _adapters(values: tuple[str, ...]) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for value in values:
        provider, sep, adapter = value.partition("=")
        if not sep or provider not in PROVIDERS or adapter not in ADAPTERS:
            raise click.BadParameter(
                f"--adapter takes PROVIDER=ADAPTER with PROVIDER one of {', '.join(PROVIDERS)} "
                f"and ADAPTER one of {', '.join(ADAPTERS)}"
            )
        chosen[provider] = adapter
    return chosen


@click.command("orchestrator")
@click.option("--id", "orchestrator_id", required=True, help="This orchestrator's id (its agent is orchestrator:<id>).")
@click.option(
    "--base-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path.home(),
    show_default="$HOME",
    help="Agents run only in directories under it; the directory API lists only it.",
)
@click.option("--providers", default="claude,codex", show_default=True, help="Providers offered here.")
@click.option("--adapter", "adapters", multiple=True, metavar="PROVIDER=ADAPTER",
              help="Run a provider with another adapter, e.g. claude=command (command, claude, codex).")
@click.option("--api-port", type=int, default=None, help="Serve the directory API on this port (0: any free one).")
@click.option("--api-host", default="127.0.0.1", show_default=True, help="Address the directory API binds to.")
@click.option(
    "--api-url",
    default=None,
    help="The URL the relay reaches the directory API at (default: from host and port).",
)
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the orchestrator keeps its state (default <base-dir>/.agent-relay-orchestrator/<id>).")
@click.option("--no-tmux", is_flag=True, help="Run agents as child processes even when tmux is installed.")
@click.option("--tmux-socket", default=None, help="Use a tmux server of its own at this socket path.")
@click.option("--heartbeat-s", type=float, default=15.0, show_default=True, help="Heartbeat interval.")
@click.option("--poll-s", type=float, default=3.0, show_default=True, help="Command poll interval (besides events).")
@click.option("--agent-token-ttl-s", type=int, default=30 * 24 * 3600, show_default=True,
              help="Lifetime of the token each agent gets (revoked when it stops anyway).")
@click.option("--url", default=None, help="The relay (default $AGENT_RELAY_URL).")
@click.option("--token", default=None, help="Orchestrator or admin token (default $AGENT_RELAY_TOKEN).")
@click.option("--verbose", "-v", is_flag=True, help="Log every command it carries out.")
@click.pass_context
def orchestrator(
    ctx: click.Context,
    orchestrator_id: str,
    base_dir: Path,
    providers: str,
    adapters: tuple[str, ...],
    api_port: int | None,
    api_host: str,
    api_url: str | None,
    state_dir: Path | None,
    no_tmux: bool,
    tmux_socket: str | None,
    heartbeat_s: float,
    poll_s: float,
    agent_token_ttl_s: int,
    url: str | None,
    token: str | None,
    verbose: bool,
) -> None:
    """Run agents on this host for the relay: spawn, restart, shut down, deliver prompts (see README)."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s relay orchestrator: %(message)s",
    )
    # What it does is worth a line; every HTTP request is not.
    logging.getLogger("relay.orchestrator").setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.INFO if verbose else logging.WARNING)
    target = config.resolve(url or ctx.meta.get("relay.url"), token or ctx.meta.get("relay.token"))
    if not target.token:
        raise click.UsageError(NO_TOKEN)
    base = base_dir.resolve()
    try:
        settings = OrchestratorConfig(
            id=orchestrator_id,
            base_dir=base,
            state_dir=(state_dir or default_state_dir(base, orchestrator_id)).resolve(),
            providers=_providers(providers),
            adapters=_adapters(adapters),
            api_host=api_host,
            api_port=api_port,
            api_url=api_url,
            use_tmux=not no_tmux,
            tmux_socket=tmux_socket,
            heartbeat_s=heartbeat_s,
            poll_s=poll_s,
            agent_token_ttl_s=agent_token_ttl_s,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        asyncio.run(run(settings, target.url, target.token))
    except RelayError as exc:
        raise click.ClickException(f"the relay at {target.url} refused: {exc.error} ({exc.status})") from exc
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


async def run(settings: OrchestratorConfig, url: str, token: str) -> None:
    """Run until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with AsyncClient(url, token) as client:
        await Orchestrator(settings, client).run(stop)


def main(argv: list[str] | None = None) -> None:
    orchestrator.main(args=argv, prog_name="relay orchestrator")
