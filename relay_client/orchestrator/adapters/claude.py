"""The `claude` adapter: Claude Code's interactive TUI in a tmux pane, with `relay mcp` as an MCP server.

Command line (Claude Code CLI reference, https://code.claude.com/docs/en/cli-reference):

    <command> <defaultArgs…> --mcp-config <agent dir>/mcp.json --allowedTools mcp__agent-relay
        <approval flags> "<opening prompt>"

- `--mcp-config <file>` loads MCP servers from a JSON file (`{"mcpServers": {name: {type: "stdio",
  command, args, env}}}`); ours runs `relay mcp --agent-id <id>` (https://code.claude.com/docs/en/mcp).
- `--allowedTools mcp__agent-relay` lets every tool of that server run without a permission prompt
  (`mcp__<server>` matches all of a server's tools, https://code.claude.com/docs/en/iam), so the agent
  can report on its commands unattended.
- Approval modes → permission modes (`--permission-mode`, https://code.claude.com/docs/en/iam):
  `read-only` → `plan` (reads and plans, no edits or commands); `guarded` → `acceptEdits` (file edits
  go ahead, shell commands ask in the pane); `open` → `--dangerously-skip-permissions` (no prompts at
  all: only on a machine you would hand to a stranger).
- `claude "query"` starts the interactive session with an initial prompt: who the agent is and the
  spawn's brief. Later prompts are pasted into the pane (delivers_prompts).
"""

from __future__ import annotations

from relay_client.orchestrator.adapters.base import (
    MCP_SERVER_NAME,
    Adapter,
    Launch,
    LaunchContext,
    mcp_server_json,
    opening_prompt,
)

PERMISSIONS = {
    "read-only": ["--permission-mode", "plan"],
    "guarded": ["--permission-mode", "acceptEdits"],
    "open": ["--dangerously-skip-permissions"],
}


class ClaudeAdapter(Adapter):
    name = "claude"
    delivers_prompts = True

    def launch(self, ctx: LaunchContext) -> Launch:
        config = ctx.agent_dir / "mcp.json"
        argv = [
            ctx.command,
            *ctx.default_args,
            "--mcp-config",
            str(config),
            "--allowedTools",
            f"mcp__{MCP_SERVER_NAME}",
            *PERMISSIONS.get(ctx.approval_mode, PERMISSIONS["guarded"]),
            opening_prompt(ctx),
        ]
        return Launch(argv=argv, files={config: mcp_server_json(ctx)})
