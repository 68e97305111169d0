"""Response bodies several controllers share: `{"ok": true}` and the 202 bodies of control requests.

Each is declared once, so the OpenAPI document has one component per shape. (No docstrings on the
structs: Litestar would publish them as schema descriptions.)
"""

from __future__ import annotations

import msgspec

from relay_model.commands.commands import Command


# `{"ok": true}`: a delete, a revoke, a cancel.
class Ok(msgspec.Struct):
    ok: bool = True


# 202 of `POST /api/agents/spawn`: the orchestrator chosen and the `agent.spawn` command sent to it.
class SpawnAccepted(msgspec.Struct, rename="camel"):
    ok: bool
    orchestrator_id: str
    provider: str
    command: Command


# 202 of `POST /api/orchestrators/:id/spawn`: the `agent.spawn` command sent to that orchestrator.
class OrchestratorSpawnAccepted(msgspec.Struct, rename="camel"):
    ok: bool
    orchestrator_id: str
    command: Command


# 202 of the agent and orchestrator actions: the `agent.restart` / `agent.shutdown` command.
class ActionAccepted(msgspec.Struct, rename="camel"):
    ok: bool
    action: str
    command: Command
