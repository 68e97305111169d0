"""Storage layer of Agent Relay: models, the Redis keyspace, Lua scripts and repositories.

Nothing here knows about HTTP; the API nodes and the workers both build on it.
"""

__version__ = "0.10.0"
