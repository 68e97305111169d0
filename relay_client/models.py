"""What the relay answers, as msgspec structs: snake_case in Python, camelCase on the wire.

Written for this client (it shares no code with the server). Decoding tolerates what it does not
know, so an older client keeps reading a newer relay: unknown fields are ignored, every field but
an identity has a default, and enumerations (statuses, kinds) are plain strings — a status the
relay adds later decodes instead of failing. The constants below name today's values.
"""

from __future__ import annotations

from typing import Any

import msgspec

AGENT_STATUSES = ("online", "idle", "busy", "stale", "offline")
AGENT_KINDS = ("provider", "channel", "orchestrator", "system", "user")
MESSAGE_KINDS = ("chat", "channel.event", "task", "pair", "control", "system")
TASK_STATUSES = ("open", "claimed", "in_progress", "blocked", "orphaned", "done", "failed", "canceled")
TASK_FINAL_STATUSES = ("done", "failed", "canceled")
COMMAND_STATUSES = ("pending", "accepted", "running", "succeeded", "failed", "timed_out", "rejected", "canceled")
COMMAND_FINAL_STATUSES = ("succeeded", "failed", "timed_out", "rejected", "canceled")
PAIR_STATUSES = ("pending", "active", "ended", "rejected", "expired")
ACTIVITY_KINDS = ("message", "reply", "question", "operator", "pair", "task", "state")
RECIPE_INSTANCE_FINAL_STATUSES = ("succeeded", "failed", "stopped")
TOKEN_ROLES = ("admin", "operator", "orchestrator", "agent", "integration", "viewer")

JsonObject = dict[str, Any]


class Model(msgspec.Struct, kw_only=True, rename="camel"):
    """A record as the relay serves it."""

    def to_dict(self) -> JsonObject:
        """The record as JSON-ready builtins with the wire's camelCase names."""
        value: JsonObject = msgspec.to_builtins(self)
        return value


class Agent(Model):
    id: str
    name: str = ""
    kind: str = "provider"
    status: str = "online"
    label: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    capabilities: list[str] = msgspec.field(default_factory=list)
    meta: JsonObject = msgspec.field(default_factory=dict)
    provider: str | None = None
    model: str | None = None
    cwd: str | None = None
    host: str | None = None
    pid: int | None = None
    version: str | None = None
    orchestrator_id: str | None = None
    last_seen: int | None = None
    registered_at: int | None = None
    session_id: str | None = None
    session_started_at: int | None = None


class Message(Model):
    id: int
    to: str = ""
    from_: str = msgspec.field(default="", name="from")
    kind: str = "chat"
    subject: str | None = None
    body: str = ""
    payload: JsonObject | None = None
    meta: JsonObject | None = None
    reply_to: int | None = None
    thread_id: int | None = None
    channel: str | None = None
    claimable: bool = False
    idempotency_key: str | None = None
    created_at: int = 0
    claimed_by: str | None = None
    claimed_at: int | None = None
    claim_expires_at: int | None = None


class Cursor(Model):
    """An agent's read position in its inbox (`latest_id`: the newest message id of the relay)."""

    agent_id: str
    cursor: int = 0
    latest_id: int = 0


class Activity(Model):
    id: int
    kind: str = "state"
    title: str = ""
    body: str = ""
    meta: str | None = None
    icon: str | None = None
    view: str | None = None
    agent_id: str | None = None
    message_id: int | None = None
    metadata: JsonObject | None = None
    client_id: str | None = None
    created_at: int = 0


class Task(Model):
    id: int
    title: str = ""
    body: str = ""
    severity: str = "info"
    status: str = "open"
    target: str | None = None
    channel: str | None = None
    source: str | None = None
    external_id: str | None = None
    type: str | None = None
    metadata: JsonObject | None = None
    claimed_by: str | None = None
    claimed_at: int | None = None
    claim_expires_at: int | None = None
    created_at: int = 0
    updated_at: int = 0


class TaskEvent(Model):
    id: int
    task_id: int = 0
    type: str = ""
    action: str = ""
    status: str = ""
    previous_status: str | None = None
    agent_id: str | None = None
    note: str | None = None
    at: int = 0


class Command(Model):
    id: str
    type: str = ""
    source: str = ""
    target: str = ""
    params: JsonObject = msgspec.field(default_factory=dict)
    correlation_id: str | None = None
    ttl_ms: int | None = None
    created_at: int = 0
    expires_at: int | None = None
    status: str = "pending"
    result: JsonObject | None = None
    error: str | None = None
    updated_at: int = 0
    accepted_at: int | None = None
    started_at: int | None = None
    finished_at: int | None = None

    @property
    def final(self) -> bool:
        return self.status in COMMAND_FINAL_STATUSES


class Orchestrator(Model):
    id: str
    hostname: str = ""
    agent_id: str = ""
    providers: list[str] = msgspec.field(default_factory=list)
    base_dir: str | None = None
    env_keys: list[str] = msgspec.field(default_factory=list)
    meta: JsonObject = msgspec.field(default_factory=dict)
    api_url: str | None = None
    status: str = "online"
    last_seen: int | None = None
    registered_at: int | None = None
    version: str | None = None
    protocol_version: int | None = None
    git_sha: str | None = None
    agents: list[JsonObject] = msgspec.field(default_factory=list)


class SpawnAccepted(Model):
    """`POST /api/agents/spawn` and `/api/orchestrators/:id/spawn` (202)."""

    command: Command
    ok: bool = True
    orchestrator_id: str = ""
    provider: str | None = None


class ActionAccepted(Model):
    """`POST /api/agents/:id/actions` and `/api/orchestrators/:id/actions` (202)."""

    command: Command
    ok: bool = True
    action: str = ""


class DirectoryEntry(Model):
    name: str
    path: str


class HostDirectories(Model):
    base: str = ""
    path: str = ""
    parent: str | None = None
    directories: list[DirectoryEntry] = msgspec.field(default_factory=list)
    truncated: bool = False


class Headless(Model):
    tmux_prefix: str = ""
    shutdown_timeout_ms: int = 10_000


class ProviderConfig(Model):
    """A provider's launch settings. Reads show `env` values as `********`; writing that back keeps them."""

    command: str
    default_args: list[str] = msgspec.field(default_factory=list)
    env: dict[str, str] = msgspec.field(default_factory=dict)
    plugin_dirs: list[str] = msgspec.field(default_factory=list)
    default_capabilities: list[str] = msgspec.field(default_factory=list)
    default_approval_mode: str = "guarded"
    default_tags: list[str] = msgspec.field(default_factory=list)
    headless: Headless = msgspec.field(default_factory=Headless)


class ProviderTestResult(Model):
    ok: bool
    command: str = ""
    path: str = ""
    error: str = ""
    checked_on: str = "api-node"
    node: str | None = None
    orchestrator_id: str | None = None
    command_id: str | None = None


class Connector(Model):
    id: str
    name: str = ""
    kind: str = ""
    orchestrator_id: str = ""
    config: JsonObject = msgspec.field(default_factory=dict)
    enabled: bool = True
    status: str = "unknown"
    last_action: str | None = None
    last_command_id: str | None = None
    last_error: str | None = None
    created_at: int = 0
    updated_at: int = 0


class ConnectorActionResult(Model):
    ok: bool
    command: Command
    connector_id: str = ""
    action: str = ""
    status: str | None = None
    result: JsonObject | None = None
    error: str | None = None


class RecipeParameter(Model):
    name: str
    description: str = ""
    required: bool = False
    default: str | None = None


class RecipeRole(Model):
    provider: str = ""
    label: str | None = None
    approval_mode: str = "guarded"
    capabilities: list[str] = msgspec.field(default_factory=list)
    prompt: str = ""


class RecipeTask(Model):
    title: str = ""
    body: str = ""
    severity: str = "info"


class RecipeStep(Model):
    id: str
    role: str = ""
    action: str = ""
    description: str = ""
    prompt: str | None = None
    task: RecipeTask | None = None
    needs: list[str] = msgspec.field(default_factory=list)
    on_failure: str = "fail"
    timeout_ms: int | None = None


class Recipe(Model):
    name: str
    description: str = ""
    parameters: list[RecipeParameter] = msgspec.field(default_factory=list)
    roles: dict[str, RecipeRole] = msgspec.field(default_factory=dict)
    steps: list[RecipeStep] = msgspec.field(default_factory=list)


class LoadedRecipe(Model):
    name: str
    recipe: Recipe
    source: str = "builtin"
    path: str = ""


class RoleTarget(Model):
    orchestrator_id: str = ""
    orchestrator_agent_id: str = ""
    planned_agent_id: str = ""


class StepState(Model):
    id: str
    role: str = ""
    action: str = ""
    status: str = "waiting"
    command_ids: list[str] = msgspec.field(default_factory=list)
    attempt: int | None = None
    started_at: int | None = None
    ended_at: int | None = None
    error: str | None = None


class RecipeInstance(Model):
    id: str
    recipe_name: str = ""
    recipe_source: str = ""
    parameters: dict[str, str] = msgspec.field(default_factory=dict)
    started_by: str = ""
    cwd: str | None = None
    orchestrator_id: str | None = None
    roles: dict[str, RoleTarget] = msgspec.field(default_factory=dict)
    status: str = "running"
    steps: list[StepState] = msgspec.field(default_factory=list)
    agents: dict[str, str] = msgspec.field(default_factory=dict)
    cleanup_command_ids: list[str] = msgspec.field(default_factory=list)
    error: str | None = None
    stopped_by: str | None = None
    created_at: int = 0
    updated_at: int | None = None
    ended_at: int | None = None

    @property
    def final(self) -> bool:
        return self.status in RECIPE_INSTANCE_FINAL_STATUSES


class RecipeRun(Model):
    """`POST /api/recipes/start` and `…/stop` (202): the instance and the commands that call issued."""

    instance: RecipeInstance
    commands: list[Command] = msgspec.field(default_factory=list)


class Automation(Model):
    id: str
    name: str = ""
    enabled: bool = True
    # `{"type": "schedule", "cron", "timezone"?}` or `{"type": "event", "event", "filter"?}`.
    trigger: JsonObject = msgspec.field(default_factory=dict)
    # `{"type": "message"|"task"|"command"|"recipe", <type>: {...}}`.
    action: JsonObject = msgspec.field(default_factory=dict)
    created_by: str | None = None
    created_at: int = 0
    updated_at: int = 0
    next_run_at: int | None = None
    last_run_at: int | None = None
    last_run_id: str | None = None
    last_run_status: str | None = None


class RunCreated(Model):
    command_id: str | None = None
    message_id: int | None = None
    task_id: int | str | None = None
    recipe_instance_id: str | None = None
    command_ids: list[str] = msgspec.field(default_factory=list)


class AutomationRun(Model):
    id: str
    automation_id: str = ""
    automation_name: str = ""
    trigger: str = ""
    status: str = "running"
    scheduled_for: int | None = None
    catch_up: bool = False
    event_type: str | None = None
    event_id: str | None = None
    created: RunCreated = msgspec.field(default_factory=RunCreated)
    error: str | None = None
    created_at: int = 0
    started_at: int = 0
    finished_at: int | None = None


class DispatchResult(Model):
    """`POST /api/automations/:id/run` (202): the run and what its action created."""

    automation: Automation
    run: AutomationRun
    command: Command | None = None
    message: Message | None = None
    task: Task | None = None
    instance: RecipeInstance | None = None
    commands: list[Command] | None = None


class TokenRecord(Model):
    jti: str
    sub: str = ""
    role: str = ""
    scope: list[str] = msgspec.field(default_factory=list)
    expires_at: int | None = None
    created_at: int = 0
    created_by: str | None = None
    revoked_at: int | None = None


class IssuedToken(TokenRecord):
    """A new token: the record and its secret `token`, which the relay shows this once."""

    token: str = ""


class RouteTarget(Model):
    type: str = ""
    id: str = ""


class ChannelBinding(Model):
    id: int
    channel_id: str = ""
    target: RouteTarget = msgspec.field(default_factory=RouteTarget)
    address: str = ""
    mode: str = "exclusive"
    direction: str = "both"
    pool_agent_id: str | None = None
    created_at: int = 0
    updated_at: int = 0


class Channel(Model):
    id: str
    agent_id: str = ""
    name: str = ""
    status: str = ""
    label: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    meta: JsonObject = msgspec.field(default_factory=dict)
    last_seen: int | None = None
    bindings: list[ChannelBinding] = msgspec.field(default_factory=list)


class ChannelEventResult(Model):
    ok: bool = True
    channel_id: str = ""
    messages: list[Message] = msgspec.field(default_factory=list)


class Integration(Model):
    name: str
    scopes: list[str] = msgspec.field(default_factory=list)
    targets: list[str] = msgspec.field(default_factory=list)
    channels: list[str] = msgspec.field(default_factory=list)
    callback_url: str | None = None
    signed: bool = False


class IntegrationEventResult(Model):
    task: Task
    ok: bool = True
    created: bool = True
    message: Message | None = None


class DeliveryAttempt(Model):
    attempt: int
    at: int = 0
    ok: bool = False
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0


class Delivery(Model):
    id: int
    integration: str = ""
    task_id: int = 0
    event: str = ""
    status: str = ""
    attempts: int = 0
    next_at: int | None = None
    created_at: int = 0
    updated_at: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    attempt_log: list[DeliveryAttempt] = msgspec.field(default_factory=list)


class Pair(Model):
    id: int
    from_: str = msgspec.field(default="", name="from")
    to: str = ""
    topic: str | None = None
    status: str = "pending"
    meta: JsonObject | None = None
    created_at: int = 0
    updated_at: int = 0
    expires_at: int | None = None
    responded_at: int | None = None
    ended_at: int | None = None
    ended_by: str | None = None
    reason: str | None = None


class BroadcastResult(Model):
    message: Message
    ok: bool = True


class ReapReport(Model):
    reaped_agent_ids: list[str] = msgspec.field(default_factory=list)
    reaped_orchestrator_ids: list[str] = msgspec.field(default_factory=list)
    released_message_ids: list[int] = msgspec.field(default_factory=list)
    released_task_ids: list[int] = msgspec.field(default_factory=list)
    released_orphaned_task_ids: list[int] = msgspec.field(default_factory=list)
    expired_command_ids: list[str] = msgspec.field(default_factory=list)


class Workers(Model):
    alive: int = 0
    ids: list[str] = msgspec.field(default_factory=list)
    alive_after_s: float = 30


class ReaperStatus(Model):
    last_run_at: int = 0
    ago_ms: int = 0
    worker_id: str | None = None
    slot: int | None = None
    duration_ms: float = 0
    interval_s: float = 0
    last_report: dict[str, int] = msgspec.field(default_factory=dict)
    last_touched_at: int | None = None


class Health(Model):
    """`GET /api/health`. While Redis is down the relay answers 503 with `ok: false` (see RelayError.body)."""

    ok: bool = False
    version: str = ""
    uptime_ms: int = 0
    node: str = ""
    sse: JsonObject = msgspec.field(default_factory=dict)
    redis: JsonObject = msgspec.field(default_factory=dict)
    counts: JsonObject = msgspec.field(default_factory=dict)
    workers: Workers | None = None
    reaper: ReaperStatus | None = None
    error: str | None = None


class Whoami(Model):
    """`GET /api/whoami`: what the calling token speaks for and may do."""

    role: str = ""
    sub: str = ""
    jti: str | None = None
    scopes: list[str] = msgspec.field(default_factory=list)
    narrowed: bool = False


class SchedulePreview(Model):
    """`GET /api/automations/schedule/preview`: the next slots of a cron schedule (ms since the epoch)."""

    cron: str = ""
    timezone: str = "UTC"
    after: int = 0
    runs: list[int] = msgspec.field(default_factory=list)


class Probe(Model):
    """`/healthz` and `/readyz`."""

    ok: bool = False
    error: str | None = None


class Event(Model):
    """One event of the live stream: `{type, source, subject, ts, data}` and its SSE id.

    `id` is a cursor over every event stream of the relay; pass it as `last_event_id` to resume.
    """

    type: str
    source: str = ""
    subject: str = ""
    ts: int = 0
    data: JsonObject = msgspec.field(default_factory=dict)
    id: str | None = None
