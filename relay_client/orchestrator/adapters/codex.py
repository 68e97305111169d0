"""The `codex` adapter: OpenAI Codex CLI's interactive TUI in a tmux pane, with `relay mcp` as an MCP server.

Command line (Codex config reference, https://github.com/openai/codex/blob/main/docs/config.md, and
https://developers.openai.com/codex/config-basic/):

    <command> <defaultArgs…>
        -c 'mcp_servers.agent-relay.command="<python>"'
        -c 'mcp_servers.agent-relay.args=["-m", "relay_client.cli", "mcp", "--agent-id", "<id>"]'
        -c 'mcp_servers.agent-relay.env_vars=["AGENT_RELAY_URL", "AGENT_RELAY_TOKEN", "AGENT_RELAY_AGENT_ID"]'
        <approval flags> "<opening prompt>"

- `-c key=value` overrides one `config.toml` key for this run, the value in TOML; nothing is written
  to the user's `~/.codex/config.toml`. `[mcp_servers.<name>]` with `command`/`args` is a stdio MCP
  server. Codex hands MCP servers only a default whitelist of environment variables, so `env_vars`
  names the relay's three, passed through from the agent's environment (no secret on the command line).
- Approval modes → `--sandbox` / `--ask-for-approval`: `read-only` → `--sandbox read-only
  --ask-for-approval on-request`; `guarded` → `--sandbox workspace-write --ask-for-approval
  on-request` (Codex's "Auto" preset: edits and commands in the workspace, asks beyond it); `open` →
  `--dangerously-bypass-approvals-and-sandbox` (Codex's "Full Access").
- `codex "<prompt>"` starts the interactive session with an initial prompt. Later prompts are pasted
  into the pane (delivers_prompts).
"""

from __future__ import annotations

import json

from relay_client.orchestrator.adapters.base import (
    MCP_SERVER_NAME,
    RELAY_ENV,
    Adapter,
    Launch,
    LaunchContext,
    opening_prompt,
)

APPROVALS = {
    "read-only": ["--sandbox", "read-only", "--ask-for-approval", "on-request"],
    "guarded": ["--sandbox", "workspace-write", "--ask-for-approval", "on-request"],
    "open": ["--dangerously-bypass-approvals-and-sandbox"],
}


def toml_value(value: str | list[str]) -> str:
    """A TOML string or array of strings (JSON's escaping is valid TOML for basic strings)."""
    return json.dumps(value)


class CodexAdapter(Adapter):
    name = "codex"
    delivers_prompts = True

    def launch(self, ctx: LaunchContext) -> Launch:
        key = f"mcp_servers.{MCP_SERVER_NAME}"
        overrides = [
            f"{key}.command={toml_value(ctx.mcp_argv[0])}",
            f"{key}.args={toml_value(ctx.mcp_argv[1:])}",
            f"{key}.env_vars={toml_value(list(RELAY_ENV))}",
        ]
        argv = [ctx.command, *ctx.default_args]
        for override in overrides:
            argv += ["-c", override]
        argv += [*APPROVALS.get(ctx.approval_mode, APPROVALS["guarded"]), opening_prompt(ctx)]
        return Launch(argv=argv)
