"""Tasks: work items for agents, created over the API, by integrations or by automations.

- `tasks.py`  the task model, history, claims with a deadline, and `TaskStore`;
- `reaper.py` the reaper steps: expired claims, orphaned tasks of agents gone offline, retention of final tasks;
- `lua/`      the scripts (`task_*`, `tasks_*`) and their library `_task_lib.lua`, which also queues
  the integration callback of a change in the same script (the outbox: relay_model.integrations.callbacks).

Depends on `relay_model.agents` (the orphan step reads agent statuses).
"""

from relay_model import keys
from relay_model.scripts import LuaBundle

LUA = LuaBundle(
    __name__,
    templates={
        "$TASK$": keys.task(""),
        "$TASKS_BY_STATUS$": keys.tasks_by("status", ""),
        "$TASKS_BY_TARGET$": keys.tasks_by("target", ""),
        "$TASKS_BY_CHANNEL$": keys.tasks_by("channel", ""),
        "$TASKS_BY_SOURCE$": keys.tasks_by("source", ""),
        "$TASKS_BY_CLAIMANT$": keys.tasks_by("claimedBy", ""),
        "$TASKS_HELD_BY$": keys.tasks_by("held", ""),
        "$TASK_HISTORY$": keys.task_history(""),
        "$TASK_EXTERNAL$": keys.task_external_prefix(),
        "$TASKS_FINAL$": keys.tasks_final(),
        "$CALLBACK$": keys.callback(""),
        "$CALLBACKS_BY_STATUS$": keys.callbacks_by("status", ""),
        "$CALLBACKS_BY_INTEGRATION$": keys.callbacks_by("integration", ""),
    },
)
