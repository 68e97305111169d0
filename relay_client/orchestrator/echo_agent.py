"""The test provider: a tiny agent that answers every prompt it gets, to try an orchestrator without an AI.

    python -m relay_client.orchestrator.echo_agent [--commands terminal|api] [provider flags…]

Configure it as a provider's `command` (`PUT /api/providers/claude/config {"command": "<python>",
"defaultArgs": ["-m", "relay_client.orchestrator.echo_agent"]}`) and start a recipe: every step runs
for real — spawn, prompts, shutdown — and each prompt is answered `succeeded` with
`{"answer": "echo: <its first line>", "via": …, "agentId": …, "argv": …}`. It shows:

- `--commands terminal` (the default; what the `claude` and `codex` adapters drive): it reads its
  terminal like a TUI would. The orchestrator pastes each prompt into its tmux pane, ending with the
  `[Agent Relay command <id>]` line; the agent answers that command through the MCP server the
  adapter configured (`--mcp-config <file>`: it starts `relay mcp` from that file, as Claude Code
  does, and calls its `update_command` tool). Without `--mcp-config` (the codex adapter passes its
  server as `-c mcp_servers.…` overrides) it answers through relay_client directly.
- `--commands api` (what the `command` adapter expects): it takes its own pending `agent.prompt` and
  `task.create` commands from the relay (`GET /api/commands?target=<me>&status=pending`), accepts,
  runs and answers them.

It reads `AGENT_RELAY_URL`, `AGENT_RELAY_TOKEN`, `AGENT_RELAY_AGENT_ID` as any managed agent does,
and ignores the provider flags it does not know (it records them in each answer, so a test sees the
command line the adapter built). `--ignore-sigterm` makes it ignore SIGTERM (to see an orchestrator
escalate to SIGKILL).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from relay_client import AsyncClient, RelayError

MARKER = re.compile(r"\[Agent Relay command (cmd_[0-9A-Za-z_]+)\]")
PROMPT_TYPES = ("agent.prompt", "task.create")
POLL_S = 0.5


def _args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="echo_agent", add_help=True)
    parser.add_argument("--commands", choices=("terminal", "api"), default="terminal")
    parser.add_argument("--mcp-config", default=None)
    parser.add_argument("--ignore-sigterm", action="store_true")
    return parser.parse_known_args(argv)


def answer_for(prompt: str, via: str, argv: list[str]) -> dict[str, Any]:
    first = next((line.strip() for line in prompt.splitlines() if line.strip()), "")
    return {
        "answer": f"echo: {first}"[:500],
        "via": via,
        "agentId": os.environ.get("AGENT_RELAY_AGENT_ID"),
        "promptChars": len(prompt),
        "argv": [a[:300] for a in argv],
    }


class McpReporter:
    """Report through the MCP server the adapter configured, as Claude Code would."""

    def __init__(self, config_path: str) -> None:
        with open(config_path) as f:
            servers = json.load(f)["mcpServers"]
        self.name, self.server = next(iter(servers.items()))
        self._session: Any = None

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[McpReporter]:
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client

        params = StdioServerParameters(
            command=self.server["command"],
            args=list(self.server.get("args", [])),
            env={**os.environ, **self.server.get("env", {})},
        )
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            self._session = session
            yield self

    async def report(self, command_id: str, result: dict[str, Any]) -> None:
        reply = await self._session.call_tool(
            "update_command", {"command_id": command_id, "status": "succeeded", "result": result}
        )
        if reply.isError:
            text = " ".join(getattr(c, "text", "") for c in reply.content)
            print(f"echo_agent: update_command {command_id} refused: {text}", file=sys.stderr, flush=True)


async def _lines() -> AsyncIterator[str]:
    """stdin's lines. Read in a daemon thread: a blocked terminal read must not hold up the exit
    (the event loop's default executor would be waited for)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, "")

    threading.Thread(target=read, name="stdin", daemon=True).start()
    while line := await queue.get():
        yield line


async def terminal(client: AsyncClient, agent_id: str, opts: argparse.Namespace, argv: list[str]) -> None:
    """Collect typed lines until a command marker; answer that command with what came before it."""

    async def loop(report: Any) -> None:
        pending: list[str] = []
        async for line in _lines():
            found = MARKER.search(line)
            if not found:
                pending.append(line)
                continue
            prompt = "".join(pending) + line[: found.start()]
            pending = []
            await report(found.group(1), answer_for(prompt, "terminal", argv))

    if opts.mcp_config:
        async with McpReporter(opts.mcp_config).open() as mcp:
            await loop(mcp.report)
        return
    # No MCP server configured: say "I'm up" the way relay mcp would (a session on the card), then
    # answer through the API.
    now = int(time.time() * 1000)
    await client.agents.heartbeat(agent_id, session_id="echo-" + secrets.token_hex(4), session_started_at=now)

    async def direct(command_id: str, result: dict[str, Any]) -> None:
        await client.commands.succeed(command_id, result)

    await loop(direct)


async def from_api(client: AsyncClient, agent_id: str, argv: list[str]) -> None:
    """Take this agent's own prompt commands from the relay (the `command` adapter's contract)."""
    while True:
        try:
            pending = await client.commands.list(target=agent_id, status="pending", limit=50)
        except RelayError as exc:
            print(f"echo_agent: {exc}", file=sys.stderr, flush=True)
            await asyncio.sleep(POLL_S)
            continue
        for command in pending:
            if command.type not in PROMPT_TYPES:
                continue
            try:
                await client.commands.accept(command.id)
            except RelayError:
                continue  # taken or canceled meanwhile
            await client.commands.start(command.id)
            params = command.params or {}
            prompt = str(params.get("prompt") or params.get("title") or "")
            await client.commands.succeed(command.id, answer_for(prompt, "api", argv))
        await asyncio.sleep(POLL_S)


async def main_async(argv: list[str]) -> None:
    opts, _ = _args(argv)
    agent_id = os.environ["AGENT_RELAY_AGENT_ID"]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if opts.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    print(f"echo_agent {agent_id} ({opts.commands}) ready", flush=True)
    async with AsyncClient() as client:
        work = asyncio.create_task(
            terminal(client, agent_id, opts, argv) if opts.commands == "terminal" else from_api(client, agent_id, argv)
        )
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([work, waiter], return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            # SIGTERM: leave at once, with 0. Tearing the MCP client down mid-message can raise inside
            # the SDK; the `relay mcp` child ends by itself when its stdin (our pipe) closes.
            print(f"echo_agent {agent_id} stopping", flush=True)
            os._exit(0)
        waiter.cancel()
        await work  # it ended by itself: its exception, if any, is the exit status


def main() -> None:
    try:
        asyncio.run(main_async(sys.argv[1:]))
    except KeyboardInterrupt:
        pass
    # The stdin reader thread may still block on the terminal: leave without waiting for it.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
