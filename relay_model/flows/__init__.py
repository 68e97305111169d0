"""Flows that need several domains; they sit above the domain packages and below `relay_model.relay`.

- `automation_dispatch.py` running automations (schedule and event passes, manual runs) and the
  table of action types (message, task, command, recipe);
- `control.py`             spawn and agent actions: a command plus its audit entry;
- `integration_events.py`  `POST /api/integrations/events`: channel targets, task ingestion, the
  `task` message to the target.

Each flow names what it uses of the relay as a Protocol (`Dispatching`, `Controlling`, `Ingesting`),
so it never imports the composition root; a `Relay` satisfies them all.
"""
