"""Automations: scheduled or event-triggered actions, and their runs.

- `automations.py` the automation and run models, their validation and `AutomationStore`;
- `schedule.py`    cron slots and the misfire policy;
- `reaper.py`      the reaper step that fails runs a dead worker left `running`;
- `lua/`           the scripts (`automation_*`, `automations_get`).

Running an automation (its action creates a message, task, command or recipe instance) is a flow
across those domains: `relay_model.flows.automation_dispatch`. Depends on plumbing only.
"""

from relay_model import keys
from relay_model.scripts import LuaBundle

LUA = LuaBundle(
    __name__,
    templates={
        "$AUTOMATION$": keys.automation(""),
        "$AUTOMATION_RUN$": keys.automation_run(""),
        "$AUTOMATIONS_ON$": keys.automations_on(""),
    },
)
