"""Settings of one `relay orchestrator` process (from its command line)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# The command protocol this runner speaks: the relay's commands API of agent-relay-server 0.10.
PROTOCOL_VERSION = 1
PROVIDERS = ("claude", "codex")

# Never handed to agents or to tmux: the orchestrator's own credentials, and tmux's view of itself.
SECRET_ENV = (
    "AGENT_RELAY_TOKEN",
    "AGENT_RELAY_ADMIN_TOKEN",
    "AGENT_RELAY_TOKEN_SECRET",
    "AGENT_RELAY_TOKEN_SECRET_PREVIOUS",
    "AGENT_RELAY_URL",
    "AGENT_RELAY_AGENT_ID",
    "TMUX",
    "TMUX_PANE",
)


def clean_env(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k not in SECRET_ENV}


def default_state_dir(base_dir: Path, orchestrator_id: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in orchestrator_id)
    return base_dir / ".agent-relay-orchestrator" / safe


@dataclass(frozen=True)
class OrchestratorConfig:
    id: str
    base_dir: Path
    state_dir: Path
    providers: tuple[str, ...] = PROVIDERS
    # provider -> adapter name (relay_client/orchestrator/adapters); absent: the provider's own.
    adapters: Mapping[str, str] = field(default_factory=dict)
    hostname: str = field(default_factory=socket.gethostname)
    api_host: str = "127.0.0.1"
    api_port: int | None = None
    # The URL registered as `apiUrl` (default http://<api host>:<port>): set it when the relay reaches
    # this host by another name.
    api_url: str | None = None
    use_tmux: bool = True
    # A tmux server of its own (`tmux -S <socket>`); None: the user's default server, so
    # `tmux attach -t <session>` just works.
    tmux_socket: str | None = None
    heartbeat_s: float = 15.0
    poll_s: float = 3.0
    monitor_s: float = 0.2
    agent_token_ttl_s: int = 30 * 24 * 3600
    # How a managed agent runs `relay mcp` (the adapters append `--agent-id <id>`).
    mcp_argv: tuple[str, ...] = (sys.executable, "-m", "relay_client.cli", "mcp")
    # The longest a prompt waits for a freshly started TUI agent's MCP server to come up.
    ready_timeout_s: float = 90.0

    def __post_init__(self) -> None:
        for provider in self.providers:
            if provider not in PROVIDERS:
                raise ValueError(f"providers must be among: {', '.join(PROVIDERS)}")
        if not self.base_dir.is_dir():
            raise ValueError(f"base dir {self.base_dir} is not a directory")


def agent_env(*layers: Mapping[str, str]) -> dict[str, str]:
    """The agent's environment: this process's (minus secrets), then each layer on top."""
    env = clean_env(os.environ)
    for layer in layers:
        env.update(layer)
    return env
