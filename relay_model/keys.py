"""The Redis keyspace: the only place keys are built.

Every key is `relay:{<group>}:<kind>[:<id>]`. The braces are a Redis Cluster hash tag: all keys of
one group hash to one slot, so a Lua script that touches several keys of its group stays legal on a
cluster. Scripts whose keys depend on data (fan-out to the members of a tag, say) build them from
key prefixes built here and written into the script's source when it is loaded (the `$NAME$`
templates of each package's `LuaBundle`, see `relay_model.scripts`), which keeps them inside the
same slot.

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


def messages_floor() -> str:
    """The highest message id retention deleted: every id at or below it is gone (inbox reads start above it)."""
    return f"{_BUS}msgs:floor"


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


# --- cmd: commands -----------------------------------------------------------------------------
# A command is a hash; its ids sit in zsets scored by createdAt (ms): every command, per target,
# per status, per type, and per (status, target) — the queue a target polls. Statuses have no
# colon, so `cmds:queue:<status>:<target>` never collides with another target's key.

_CMD = prefix(CMD)


def command(command_id: str) -> str:
    return f"{_CMD}cmd:{command_id}"


def commands_all() -> str:
    return f"{_CMD}cmds"


def commands_by(index: str, value: str) -> str:
    """Zset of command ids per `target`, `status` or `type`, scored by createdAt (ms)."""
    return f"{_CMD}cmds:{index}:{value}"


def commands_queue(status: str, target: str) -> str:
    """Zset of one target's commands in one status (`pending` is its work queue)."""
    return f"{_CMD}cmds:queue:{status}:{target}"


def command_deadlines() -> str:
    """Zset of non-final commands that have a ttl, scored by expiresAt (ms); the reaper times them out."""
    return f"{_CMD}cmds:deadlines"


def commands_finished() -> str:
    """Zset of final commands scored by finishedAt (ms); the reaper purges them after the retention."""
    return f"{_CMD}cmds:finished"


# --- bus: orchestrators ------------------------------------------------------------------------


def orchestrator(orchestrator_id: str) -> str:
    return f"{_BUS}orch:{orchestrator_id}"


def orchestrators_all() -> str:
    """Zset of every orchestrator id, scored by registration time (ms)."""
    return f"{_BUS}orchs"


def orchestrators_live() -> str:
    """Zset of online orchestrators scored by last heartbeat (ms); the reaper marks old ones stale."""
    return f"{_BUS}orchs:live"


def orchestrators_stale() -> str:
    """Zset of stale orchestrators scored by last heartbeat (ms); the reaper marks old ones offline."""
    return f"{_BUS}orchs:stale"


# --- sys: provider configs and connectors ------------------------------------------------------


def provider_config(provider: str) -> str:
    return f"{_SYS}provider:{provider}"


def connector(connector_id: str) -> str:
    return f"{_SYS}connector:{connector_id}"


def connectors_all() -> str:
    """Zset of connector ids scored by registration time (ms)."""
    return f"{_SYS}connectors"


# --- cmd: recipe instances (same hash tag as commands, so a step and its commands move together) --


def recipe_instance(instance_id: str) -> str:
    """Hash: the instance document, its status and one field group per step."""
    return f"{_CMD}recipe:{instance_id}"


def recipe_instances() -> str:
    """Zset of every instance id, scored by start time (ms)."""
    return f"{_CMD}recipes"


def recipe_instances_by_status(status: str) -> str:
    return f"{_CMD}recipes:status:{status}"


# --- auto: automations and their runs ---------------------------------------------------------------

_AUTO = prefix(AUTO)


def automation(automation_id: str) -> str:
    return f"{_AUTO}automation:{automation_id}"


def automations() -> str:
    """Zset of every automation id, scored by creation time (ms)."""
    return f"{_AUTO}automations"


def automations_due() -> str:
    """Zset of enabled scheduled automations, scored by their next cron slot (ms)."""
    return f"{_AUTO}due"


def automations_on(event_type: str) -> str:
    """Set of automation ids triggered by one relay event type."""
    return f"{_AUTO}on:{event_type}"


def automation_run(run_id: str) -> str:
    return f"{_AUTO}run:{run_id}"


def automation_runs() -> str:
    """Zset of run ids, scored by start time (ms)."""
    return f"{_AUTO}runs"


def automation_runs_running() -> str:
    """Zset of runs still `running`, scored by start time (ms): the reaper fails those a dead worker left."""
    return f"{_AUTO}runs:running"


def automation_runs_of(automation_id: str) -> str:
    return f"{_AUTO}runs:of:{automation_id}"


def automation_fired(automation_id: str, occasion: str) -> str:
    """Set-once key: this automation has run for this occasion (`slot:<ms>` or `event:<group>:<id>`)."""
    return f"{_AUTO}fired:{automation_id}:{occasion}"


# --- tasks, callbacks outbox (task group); channels, bindings, pools, pairs (bus); integration limits (auth)
# Task changes and the callback deliveries they cause are written by one script, so the outbox shares
# the task group's hash tag.

_TASK = prefix(TASK)


def task_seq() -> str:
    return f"{_TASK}seq:task"


def task(task_id: int | str) -> str:
    return f"{_TASK}task:{task_id}"


def tasks_all() -> str:
    """Zset of every task id (scored by id)."""
    return f"{_TASK}tasks"


def tasks_by(index: str, value: str) -> str:
    """Zset of task ids per `status`, `target`, `channel`, `source` or `claimedBy`."""
    return f"{_TASK}tasks:{index}:{value}"


def task_history(task_id: int | str) -> str:
    """List of the task's changes, oldest first (`GET /api/tasks/:id/events`)."""
    return f"{_TASK}history:{task_id}"


def task_external_prefix() -> str:
    return f"{_TASK}ext:"


def task_external(source: str, external_id: str) -> str:
    """An integration's `externalId` -> task id."""
    return f"{task_external_prefix()}{source}:{external_id}"


def tasks_final() -> str:
    """Zset of final (done/failed/canceled) task ids scored by when they became final (ms): retention reads it."""
    return f"{_TASK}tasks:final"


def task_claims() -> str:
    """Zset of claimed task ids scored by claim expiry (ms)."""
    return f"{_TASK}claims:task"


def task_claimants() -> str:
    """Set of agent ids that hold at least one task claim (the orphan check reads only these)."""
    return f"{_TASK}claimants"


def callback_seq() -> str:
    return f"{_TASK}seq:callback"


def callback(delivery_id: int | str) -> str:
    return f"{_TASK}cb:{delivery_id}"


def callback_attempts(delivery_id: int | str) -> str:
    return f"{_TASK}cb-attempts:{delivery_id}"


def callbacks_all() -> str:
    return f"{_TASK}cbs"


def callbacks_by(index: str, value: str) -> str:
    """Zset of delivery ids per `status` or `integration`."""
    return f"{_TASK}cbs:{index}:{value}"


def callbacks_due() -> str:
    """Zset of delivery ids scored by when they may be (re)tried; a lease pushes the score forward."""
    return f"{_TASK}cbs:due"


def binding_seq() -> str:
    return f"{_BUS}seq:binding"


def binding(binding_id: int | str) -> str:
    return f"{_BUS}binding:{binding_id}"


def bindings_all() -> str:
    return f"{_BUS}bindings"


def bindings_of_channel(channel_id: str) -> str:
    return f"{_BUS}bindings:channel:{channel_id}"


def bindings_of_pool(pool: str) -> str:
    return f"{_BUS}bindings:pool:{pool}"


def pool_held(agent_id: str) -> str:
    """Set of pool binding ids whose slot an agent holds."""
    return f"{_BUS}pool:held:{agent_id}"


def pool_holders() -> str:
    """Set of agents holding at least one pool slot (the reaper checks only these)."""
    return f"{_BUS}pool:holders"


def pool_unclaimed() -> str:
    """Set of pool binding ids with no agent in the slot."""
    return f"{_BUS}pool:unclaimed"


def pair_seq() -> str:
    return f"{_BUS}seq:pair"


def pair(pair_id: int | str) -> str:
    return f"{_BUS}pair:{pair_id}"


def pairs_all() -> str:
    return f"{_BUS}pairs"


def pairs_by(index: str, value: str) -> str:
    """Zset of pair ids per `agent` or `status`."""
    return f"{_BUS}pairs:{index}:{value}"


def pair_between_prefix() -> str:
    return f"{_BUS}pair:between:"


def pair_between(agent_a: str, agent_b: str) -> str:
    """The open (pending or active) pair of two agents; written both ways round, so no side sorts ids."""
    return f"{pair_between_prefix()}{agent_a}\n{agent_b}"


def pairs_pending() -> str:
    """Zset of pending pair ids scored by expiry (ms)."""
    return f"{_BUS}pairs:pending"


def integration_rate(name: str, minute: int) -> str:
    """Requests of one integration in one clock minute, counted across every node."""
    return f"{prefix(AUTH)}ratelimit:integration:{name}:{minute}"


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
    """Request counter of one token (its jti, or `admin-env` for the admin token) in one one-minute window."""
    return f"{_AUTH}rate:{subject}:{window}"


def sse_leases(subject: str) -> str:
    """Zset of one token's open SSE connections, scored by lease expiry (ms)."""
    return f"{_AUTH}sse:{subject}"


# --- sys: the workers' arq queue (review-work) ----------------------------------------------------


def arq_queue() -> str:
    """arq's job queue (a zset of job ids by run time); arq names its job and result keys itself."""
    return f"{_SYS}arq:queue"


def arq_health() -> str:
    """arq's health-check key (one per queue)."""
    return f"{_SYS}arq:health"
