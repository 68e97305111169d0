"""The adapter contract: how one kind of agent is launched, and who delivers its prompts.

An adapter turns a spawn (provider config + the spawn command's params) into a `Launch`: the argv
to run, extra environment, files to write first (0600, in the agent's own state directory). And it
says whether the orchestrator *delivers prompts*:

- `delivers_prompts = False` (the `command` adapter): the agent takes every command addressed to
  it itself — `agent.prompt`, `task.create`, anything else — through the API (`GET
  /api/commands?target=<me>&status=pending`, then PATCH it) or through `relay mcp`'s
  `my_commands`/`update_command` tools. The orchestrator only supervises the process.
- `delivers_prompts = True` (`claude`, `codex`): the agent is an interactive TUI that cannot poll.
  The orchestrator takes its `agent.prompt` and `task.create` commands (accepted → running), types
  the prompt into the agent's terminal with a footer naming the command, and the agent finishes the
  command itself through `relay mcp` (configured by the adapter), with `update_command`.

Either way the orchestrator alone takes `agent.restart` and `agent.shutdown` of its agents.
Adding a provider is adding one module here with a subclass, and one line in `ADAPTERS`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

# The env vars every managed agent gets (and that `relay mcp` inside it reads).
RELAY_ENV = ("AGENT_RELAY_URL", "AGENT_RELAY_TOKEN", "AGENT_RELAY_AGENT_ID")
MCP_SERVER_NAME = "agent-relay"


@dataclass(frozen=True)
class LaunchContext:
    agent_id: str
    command: str
    default_args: list[str]
    cwd: str
    approval_mode: str
    # The spawn's prompt (a recipe role's standing brief, or the dashboard's first instruction).
    prompt: str | None
    agent_dir: Path
    # How to run `relay mcp` for this agent (argv), configured into the TUIs that speak MCP.
    mcp_argv: list[str]
    # The agent's relay environment (URL, its own token, its id).
    relay_env: Mapping[str, str]


@dataclass
class Launch:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    files: dict[Path, str] = field(default_factory=dict)


class Adapter(ABC):
    name: ClassVar[str]
    delivers_prompts: ClassVar[bool] = False

    @abstractmethod
    def launch(self, ctx: LaunchContext) -> Launch:
        """The command line, environment and files that start this agent."""

    def prompt_text(self, command: Any) -> str:
        """What is typed into the agent's terminal for an `agent.prompt` / `task.create` command."""
        params = command.params or {}
        if command.type == "task.create":
            lines = [f"Task: {params.get('title') or '(untitled)'}"]
            if params.get("severity"):
                lines.append(f"Severity: {params['severity']}")
            if params.get("body"):
                lines += ["", str(params["body"])]
            text = "\n".join(lines)
        else:
            text = str(params.get("prompt") or "")
        return text.rstrip() + "\n\n" + completion_footer(command.id)


def completion_footer(command_id: str) -> str:
    """One line, the last of every typed prompt: which command this is and how to finish it.

    `relay mcp`'s `update_command` tool takes `command_id`, `status`, `result`, `error`.
    """
    return (
        f"[Agent Relay command {command_id}] When you are done, call the {MCP_SERVER_NAME} tool update_command "
        f'with command_id "{command_id}", status "succeeded" and result {{"answer": "<your answer>"}}; '
        'if you cannot do it, status "failed" with the reason in error.'
    )


def opening_prompt(ctx: LaunchContext) -> str:
    """The first thing a prompt-delivered agent reads: who it is, then its brief."""
    intro = (
        f"You are agent {ctx.agent_id} on Agent Relay. The {MCP_SERVER_NAME} MCP tools speak for you "
        "(messages, tasks, commands). Instructions will be typed here, each ending with the command to "
        "report on when you are done."
    )
    return intro + ("\n\n" + ctx.prompt.strip() if ctx.prompt and ctx.prompt.strip() else "")


def mcp_server_json(ctx: LaunchContext) -> str:
    """A `{"mcpServers": {...}}` document running `relay mcp` for the agent (Claude Code's --mcp-config).

    The relay variables are written into the server's `env` as well as inherited: a client that
    starts MCP servers with a reduced environment still hands them the agent's identity. The file
    is 0600 in the agent's own state directory and deleted when the agent is shut down.
    """
    server = {"type": "stdio", "command": ctx.mcp_argv[0], "args": ctx.mcp_argv[1:], "env": dict(ctx.relay_env)}
    return json.dumps({"mcpServers": {MCP_SERVER_NAME: server}}, indent=2)
