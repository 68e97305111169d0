"""Integrations: external systems (alerting, CI, chat bridges) that post events and get task callbacks.

- `config.py`    the configured integrations as the API uses them: token lookup, public summary,
  the event body, callback filters, the per-minute request counter (the list itself is a setting:
  `relay_model.settings.Integration`);
- `callbacks.py` delivering task changes to an integration's `callbackUrl` (the outbox the task
  scripts fill), signed, with retries (`CallbackStore`);
- `lua/`         the scripts (`callback_*`, `callbacks_*`).

Ingesting an event (channel targets, the task, the `task` message) is a flow across domains:
`relay_model.flows.integration_events`. Depends on `relay_model.tasks` (the event body mirrors a task).
"""

from relay_model import keys
from relay_model.scripts import LuaBundle

LUA = LuaBundle(
    __name__,
    templates={
        "$CALLBACK$": keys.callback(""),
        "$CALLBACK_ATTEMPTS$": keys.callback_attempts(""),
        "$CALLBACKS_BY_STATUS$": keys.callbacks_by("status", ""),
        "$CALLBACKS_BY_INTEGRATION$": keys.callbacks_by("integration", ""),
    },
)
