"""The `command` adapter: any executable that is its own agent (it speaks the relay API itself).

Runs `<command> <defaultArgs…>`. Besides `AGENT_RELAY_URL`, `AGENT_RELAY_TOKEN` and
`AGENT_RELAY_AGENT_ID`, the process gets the spawn's prompt in `AGENT_RELAY_SPAWN_PROMPT` (when there
is one) and its approval mode in `AGENT_RELAY_APPROVAL_MODE`. It takes its own commands (see
adapters/base.py); the orchestrator only supervises it.
"""

from __future__ import annotations

from relay_client.orchestrator.adapters.base import Adapter, Launch, LaunchContext


class CommandAdapter(Adapter):
    name = "command"
    delivers_prompts = False

    def launch(self, ctx: LaunchContext) -> Launch:
        env = {"AGENT_RELAY_APPROVAL_MODE": ctx.approval_mode}
        if ctx.prompt:
            env["AGENT_RELAY_SPAWN_PROMPT"] = ctx.prompt
        return Launch(argv=[ctx.command, *ctx.default_args], env=env)
