"""Agents and the hosts that run them.

- `agents.py`        agent cards, registration, heartbeats, status, labels, tags (`AgentStore`);
- `orchestrators.py` orchestrators (host daemons) and their agent card `orchestrator:<id>`;
- `providers.py`     provider configs (claude, codex) and the provider test;
- `directories.py`   directory pickers: an orchestrator's (proxied) and this host's;
- `reaper.py`        the reaper steps: agents stale -> offline, orchestrators stale -> offline;
- `lua/`             the scripts (`agent_*`, `agents_*`, `orchestrator_*`, `reap_agents_*`).

Depends on plumbing only.
"""

from relay_model import keys
from relay_model.scripts import LuaBundle

LUA = LuaBundle(
    __name__,
    templates={
        "$AGENT$": keys.agent(""),
        "$AGENTS_BY_TAG$": keys.agents_by("tag", ""),
        "$AGENTS_BY_CAP$": keys.agents_by("cap", ""),
        "$AGENTS_BY_LABEL$": keys.agents_by("label", ""),
        "$AGENTS_BY_KIND$": keys.agents_by("kind", ""),
    },
)
