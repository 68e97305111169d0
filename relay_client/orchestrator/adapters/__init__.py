"""Provider adapters, one module each (the contract is in adapters/base.py)."""

from __future__ import annotations

from relay_client.orchestrator.adapters.base import Adapter, Launch, LaunchContext
from relay_client.orchestrator.adapters.claude import ClaudeAdapter
from relay_client.orchestrator.adapters.codex import CodexAdapter
from relay_client.orchestrator.adapters.command import CommandAdapter

ADAPTERS: dict[str, type[Adapter]] = {a.name: a for a in (CommandAdapter, ClaudeAdapter, CodexAdapter)}
# Each provider's adapter unless `--adapter PROVIDER=NAME` says otherwise.
DEFAULT_ADAPTER = {"claude": "claude", "codex": "codex"}


def adapter_named(name: str) -> Adapter:
    try:
        return ADAPTERS[name]()
    except KeyError:
        raise ValueError(f"unknown adapter {name!r} (one of: {', '.join(ADAPTERS)})") from None


__all__ = ["ADAPTERS", "DEFAULT_ADAPTER", "Adapter", "Launch", "LaunchContext", "adapter_named"]
