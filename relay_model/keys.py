"""The Redis keyspace: the only place keys are built.

Every key is `relay:{<group>}:<kind>[:<id>]`. The braces are a Redis Cluster hash tag: all keys of
one group hash to one slot, so a Lua script that touches several keys of its group stays legal on a
cluster. Scripts whose keys depend on data (fan-out to the members of a tag, say) build them from
the group prefix handed to them in ARGV, which keeps them inside the same slot.

Groups:
- `bus`   agents, orchestrators, messages, inboxes, claims, channels, bindings, pairs, activity
- `task`  tasks and their history
- `cmd`   commands and the recipe instances they drive
- `auto`  automations and their runs
- `auth`  tokens, revocations, rate-limit counters
- `sys`   worker heartbeats, reaper status, dispatch keys, provider configs, connectors

Each group that emits live events has its own capped event stream (`relay:{<group>}:events`), written
in the same script as the change it describes, so an event is never lost between the two.
"""

from __future__ import annotations

from typing import Final

ROOT: Final = "relay"
EVENTS_CHANNEL: Final = "relay:events"

BUS: Final = "bus"
TASK: Final = "task"
CMD: Final = "cmd"
AUTO: Final = "auto"
AUTH: Final = "auth"
SYS: Final = "sys"

EVENT_GROUPS: Final = (BUS, TASK, CMD, AUTO)


def prefix(group: str) -> str:
    """`relay:{group}:` — scripts append to it to build data-dependent keys in the same slot."""
    return f"{ROOT}:{{{group}}}:"


def events(group: str) -> str:
    return prefix(group) + "events"


# --- bus: agents -------------------------------------------------------------------------------

_BUS = prefix(BUS)


def agent(agent_id: str) -> str:
    return f"{_BUS}agent:{agent_id}"


def agents_all() -> str:
    """Zset of every registered agent id, scored by registration time."""
    return f"{_BUS}agents"


def agents_live() -> str:
    """Zset of agents counted as alive (online/idle/busy), scored by last heartbeat (ms)."""
    return f"{_BUS}agents:live"


def agents_stale() -> str:
    """Zset of stale agents, scored by last heartbeat (ms); the reaper turns them offline."""
    return f"{_BUS}agents:stale"


def agents_by(index: str, value: str) -> str:
    """Set of agent ids per `tag`, `cap`, `label`, `kind` or `status`."""
    return f"{_BUS}agents:{index}:{value}"


# --- bus: messages -----------------------------------------------------------------------------


def message_seq() -> str:
    return f"{_BUS}seq:message"


def message(message_id: int | str) -> str:
    return f"{_BUS}msg:{message_id}"


def messages_all() -> str:
    return f"{_BUS}msgs"


def messages_by(index: str, value: str) -> str:
    """Zset of message ids per `from`, `to`, `channel` or `kind` (history filters)."""
    return f"{_BUS}msgs:{index}:{value}"


def broadcasts() -> str:
    return f"{_BUS}msgs:broadcast"


def inbox(agent_id: str) -> str:
    return f"{_BUS}inbox:{agent_id}"


def idempotency(key: str) -> str:
    return f"{_BUS}idem:{key}"


def message_claims() -> str:
    """Zset of claimed message ids scored by claim expiry (ms)."""
    return f"{_BUS}claims:msg"


def read_cursor(agent_id: str) -> str:
    return f"{_BUS}cursor:{agent_id}"


# --- bus: activity -----------------------------------------------------------------------------


def activity_seq() -> str:
    return f"{_BUS}seq:activity"


def activity(activity_id: int | str) -> str:
    return f"{_BUS}act:{activity_id}"


def activity_all() -> str:
    return f"{_BUS}acts"


def activity_by(index: str, value: str) -> str:
    """Zset of activity ids per `kind` or `agent`."""
    return f"{_BUS}acts:{index}:{value}"


def activity_client(client_id: str) -> str:
    return f"{_BUS}act:client:{client_id}"


# --- sys ---------------------------------------------------------------------------------------

_SYS = prefix(SYS)


def worker_heartbeat(worker_id: str) -> str:
    return f"{_SYS}worker:{worker_id}"


def workers() -> str:
    """Zset of worker ids scored by last heartbeat (ms)."""
    return f"{_SYS}workers"


def reaper_status() -> str:
    return f"{_SYS}reaper"


def dispatch(job: str, slot: str) -> str:
    """Set-once key that makes one scheduled slot run once across worker replicas."""
    return f"{_SYS}dispatch:{job}:{slot}"


# --- auth: tokens, revocations, rate limits, SSE leases ----------------------------------------

_AUTH = prefix(AUTH)


def token(jti: str) -> str:
    """A token's record (JSON, never the secret); kept a while after expiry so listings show it."""
    return f"{_AUTH}token:{jti}"


def tokens_all() -> str:
    """Zset of token jtis scored by creation time (ms)."""
    return f"{_AUTH}tokens"


def token_revoked(jti: str) -> str:
    """Exists while a revoked token would otherwise still be valid (TTL = its remaining lifetime)."""
    return f"{_AUTH}revoked:{jti}"


def rate_window(subject: str, window: int) -> str:
    """Request counter of one token (jti, or `admin`) in one fixed one-minute window."""
    return f"{_AUTH}rate:{subject}:{window}"


def sse_leases(subject: str) -> str:
    """Zset of one token's open SSE connections, scored by lease expiry (ms)."""
    return f"{_AUTH}sse:{subject}"
