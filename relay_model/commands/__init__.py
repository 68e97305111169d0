"""Commands and connectors: typed control requests sent to a target, and the bridges driven by them.

- `commands.py`   the command model, its state machine and `CommandStore` (queues per target, final hooks);
- `connectors.py` connector records and their actions (each a `connector.<action>` command);
- `reaper.py`     the reaper steps: ttl expiry, purge after the retention;
- `lua/`          the scripts (`command_*`, `commands_list`, `connector_update`).

Depends on `relay_model.agents` (a connector's orchestrator is addressed through its agent id).
"""

from relay_model import keys
from relay_model.scripts import LuaBundle

LUA = LuaBundle(
    __name__,
    templates={
        "$COMMAND$": keys.command(""),
        "$CMDS_BY_TARGET$": keys.commands_by("target", ""),
        "$CMDS_BY_STATUS$": keys.commands_by("status", ""),
        "$CMDS_BY_TYPE$": keys.commands_by("type", ""),
        "$CMDS_QUEUE$": keys.commands_queue("", "")[:-1],
    },
)
