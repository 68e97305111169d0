"""Storage layer of Agent Relay: models, the Redis keyspace, Lua scripts and repositories.

Nothing here knows about HTTP; the API nodes and the workers both build on it. One package per
domain (agents, messages, tasks, commands, recipes, automations, integrations, auth), each with
its models, stores, `lua/` scripts and reaper steps; `flows/` for what spans domains; `relay.py`
puts it all together; the flat modules beside them are the plumbing every package shares. The
README's architecture section maps every folder; `pyproject.toml` has the import contracts.
"""

__version__ = "0.10.0"
