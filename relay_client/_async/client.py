"""The client: every route of the relay as a typed method, and the resuming event stream.

The async client is written by hand in relay_client/_async/client.py; the sync one in
relay_client/_sync/client.py is generated from it by scripts/unasync.py, so the twins never drift.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx
import msgspec

from relay_client import config, models, wire
from relay_client._async._io import sleep
from relay_client.errors import RelayError
from relay_client.retry import RETRY_STATUSES, RetryPolicy
from relay_client.sse import Parser, decode
from relay_client.wire import compact, query, seg

T = TypeVar("T")

# Routes that wait on the relay's side for a host's answer get this much longer than `timeout`.
WAITING_ROUTE_EXTRA_S = 30.0
# An event stream with no byte for this long is taken as dead and reopened (the relay sends a
# keep-alive comment every AGENT_RELAY_SSE_KEEPALIVE_S, 15 s by default).
EVENTS_READ_TIMEOUT_S = 45.0
# Reconnect waits of a stream that was open before: growing to this, then steady, never giving up.
EVENTS_RECONNECT_MAX_S = 5.0


class AsyncClient:
    """A client of one relay. `url`/`token` default as `relay_client.config.resolve` says.

    Use it as a context manager, or call `aclose()`. Every method raises `RelayError` when the call
    did not succeed; see `relay_client.retry` for what is retried.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        target = config.resolve(url, token)
        self.url = target.url
        self.token = target.token
        self.target = target
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        base_headers = {"User-Agent": f"agent-relay-client/{wire.version()}", "Accept": "application/json"}
        if self.token:
            base_headers["Authorization"] = f"Bearer {self.token}"
        base_headers.update(headers or {})
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=base_headers, timeout=httpx.Timeout(timeout), transport=transport
        )
        self.agents = AsyncAgents(self)
        self.messages = AsyncMessages(self)
        self.tasks = AsyncTasks(self)
        self.commands = AsyncCommands(self)
        self.orchestrators = AsyncOrchestrators(self)
        self.providers = AsyncProviders(self)
        self.connectors = AsyncConnectors(self)
        self.recipes = AsyncRecipes(self)
        self.automations = AsyncAutomations(self)
        self.tokens = AsyncTokens(self)
        self.channels = AsyncChannels(self)
        self.integrations = AsyncIntegrations(self)
        self.pairs = AsyncPairs(self)
        self.activity = AsyncActivity(self)
        self.system = AsyncSystem(self)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the call machinery -------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """One call with retries (see relay_client.retry); the response whatever its status."""
        idem = method in wire.IDEMPOTENT_METHODS if idempotent is None else idempotent
        content = wire.encode(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        request_timeout = httpx.Timeout(timeout) if timeout is not None else httpx.USE_CLIENT_DEFAULT
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(
                    method,
                    path,
                    params=query(params) if params else None,
                    content=content,
                    headers=headers,
                    timeout=request_timeout,
                )
            except httpx.TransportError as exc:
                if self.retry.should_retry(attempt, idempotent=idem, exc=exc, status=None):
                    await sleep(self.retry.delay(attempt))
                    continue
                raise wire.transport_error(self.url, exc) from exc
            if response.status_code in RETRY_STATUSES and self.retry.should_retry(
                attempt, idempotent=idem, exc=None, status=response.status_code
            ):
                await sleep(self.retry.delay(attempt, response.headers.get("retry-after")))
                continue
            return response

    async def _call(
        self,
        method: str,
        path: str,
        type_: type[T],
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
        timeout: float | None = None,
        accept: tuple[int, ...] = (),
    ) -> T:
        """A call whose answer decodes into `type_`; `accept` names error statuses that carry one too."""
        response = await self._send(method, path, params=params, body=body, idempotent=idempotent, timeout=timeout)
        if response.is_success:
            return wire.decode(response, type_)
        if response.status_code in accept:
            try:
                return wire.decode(response, type_)
            except RelayError:
                pass
        raise wire.error_from(response)

    async def _ok(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        idempotent: bool | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        """A call whose answer is only `{ok: true}`."""
        response = await self._send(method, path, params=params, body=body, idempotent=idempotent)
        if not response.is_success:
            raise wire.error_from(response)

    # -- health and the event stream ----------------------------------------------------------------

    async def health(self) -> models.Health:
        """`GET /api/health` (no token needed). 503 while Redis is down: RelayError whose body is the health."""
        return await self._call("GET", "/api/health", models.Health)

    async def whoami(self) -> models.Whoami:
        """`GET /api/whoami`: the token's role, subject and every `<area>:<verb>` scope it holds."""
        return await self._call("GET", "/api/whoami", models.Whoami)

    async def healthz(self) -> models.Probe:
        """`GET /healthz`: the process runs."""
        return await self._call("GET", "/healthz", models.Probe)

    async def readyz(self) -> models.Probe:
        """`GET /readyz`: the node reaches Redis (503 RelayError when not)."""
        return await self._call("GET", "/readyz", models.Probe)

    def events(
        self,
        *,
        types: Sequence[str] | str | None = None,
        agent_id: str | None = None,
        last_event_id: str | None = None,
        read_timeout: float = EVENTS_READ_TIMEOUT_S,
    ) -> AsyncEventStream:
        """The live event stream (`GET /api/events`), resuming by itself.

        `types` like `["agent.*", "message.created"]` (a trailing `*` matches a prefix), `agent_id`
        keeps events about one agent, `last_event_id` resumes after an event seen earlier. When the
        connection drops (a node restarts, a proxy cuts it) the stream reconnects with the id of the
        last event it handed out, to any node behind the URL, so every event arrives exactly once.
        """
        joined = types if isinstance(types, str) or types is None else ",".join(types)
        return AsyncEventStream(
            self, types=joined or None, agent_id=agent_id, last_event_id=last_event_id, read_timeout=read_timeout
        )


class AsyncEventStream:
    """Iterate it for `models.Event`s. `last_event_id` is where it stands: keep it to resume later.

    The first connection fails like any call (RelayError after the retry policy's attempts); once
    it was open, losing it only makes it reconnect (waits up to EVENTS_RECONNECT_MAX_S, for as long
    as it takes). A refusal (401, 403, 400) ends it with RelayError either way.
    """

    def __init__(
        self,
        client: AsyncClient,
        *,
        types: str | None,
        agent_id: str | None,
        last_event_id: str | None,
        read_timeout: float,
    ) -> None:
        self._client = client
        self._params = {"types": types, "agentId": agent_id}
        self.last_event_id = last_event_id
        self._read_timeout = read_timeout
        self._response: httpx.Response | None = None
        self._lines: AsyncIterator[str] | None = None
        self._parser = Parser()
        self._closed = False
        self._was_open = False
        # An event read while opening (a relay that sends no opening comment starts with one).
        self._pending: list[models.Event] = []
        # How many times the stream had to be reopened (for callers that want to know).
        self.reconnects = 0

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncEventStream:
        return self

    async def __anext__(self) -> models.Event:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._lines is None:
                await self.connect()
            if self._pending:
                return self._pending.pop(0)
            assert self._lines is not None
            try:
                line = await self._lines.__anext__()
            except (StopAsyncIteration, httpx.TransportError):
                # The relay ended the stream (a node shutting down, a slow client cut off) or the
                # connection broke: reopen it from the last id.
                await self._drop()
                continue
            block = self._parser.feed(line)
            if block is None:
                continue
            if block.id is not None:
                self.last_event_id = block.id
            event = decode(block)
            if event is not None:
                return event

    async def connect(self) -> None:
        """Open the stream now (iterating opens it too) and return once the relay has registered it,
        so every event from here on will be seen."""
        if self._closed or self._lines is not None:
            return
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._open()
                self._was_open = True
                return
            except RelayError as exc:
                retryable = exc.unreachable or exc.status in (429, 502, 503, 504)
                if not retryable or (not self._was_open and attempt >= self._client.retry.attempts):
                    raise
                if exc.retry_after is not None:
                    wait = min(exc.retry_after, EVENTS_RECONNECT_MAX_S)
                elif self._was_open:
                    wait = min(self._client.retry.base_s * 2 ** min(attempt - 1, 8), EVENTS_RECONNECT_MAX_S)
                else:
                    wait = self._client.retry.delay(attempt)
                await sleep(wait)

    async def _open(self) -> None:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        timeout = httpx.Timeout(self._client.timeout, read=self._read_timeout)
        request = self._client._http.build_request(
            "GET", "/api/events", params=query(self._params), headers=headers, timeout=timeout
        )
        try:
            response = await self._client._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise wire.transport_error(self._client.url, exc) from exc
        if response.status_code != 200:
            try:
                await response.aread()
            except httpx.TransportError:
                pass
            finally:
                await response.aclose()
            raise wire.error_from(response)
        self._response = response
        self._lines = response.aiter_lines()
        self._parser = Parser()
        if self._was_open:
            self.reconnects += 1
        # The opening block (`: connected`, `retry:`, `id:`) comes once the relay has registered this
        # stream with its broker: read it before saying the stream is open.
        try:
            while True:
                block = self._parser.feed(await self._lines.__anext__())
                if block is None:
                    continue
                if block.id is not None:
                    self.last_event_id = block.id
                event = decode(block)
                if event is not None:
                    self._pending.append(event)
                return
        except (StopAsyncIteration, httpx.TransportError) as exc:
            await self._drop()
            raise RelayError(0, f"the event stream at {self._client.url} closed while opening") from exc

    async def _drop(self) -> None:
        response, self._response, self._lines = self._response, None, None
        if response is not None:
            try:
                await response.aclose()
            except httpx.TransportError:
                pass

    async def aclose(self) -> None:
        self._closed = True
        await self._drop()


class _Area:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client


class AsyncAgents(_Area):
    """`/api/agents`: cards, liveness, status, labels and tags, spawn and control actions."""

    async def register(
        self,
        id: str,
        *,
        name: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        label: str | None = None,
        tags: Sequence[str] | None = None,
        capabilities: Sequence[str] | None = None,
        meta: Mapping[str, Any] | None = None,
        provider: str | None = None,
        model: str | None = None,
        cwd: str | None = None,
        host: str | None = None,
        pid: int | None = None,
        version: str | None = None,
        orchestrator_id: str | None = None,
        session_id: str | None = None,
        session_started_at: int | None = None,
    ) -> models.Agent:
        """Register or update a card (an upsert: tags, capabilities and label are kept unless given)."""
        body = compact(
            {
                "id": id,
                "name": name,
                "kind": kind,
                "status": status,
                "label": label,
                "tags": list(tags) if tags is not None else None,
                "capabilities": list(capabilities) if capabilities is not None else None,
                "meta": dict(meta) if meta is not None else None,
                "provider": provider,
                "model": model,
                "cwd": cwd,
                "host": host,
                "pid": pid,
                "version": version,
                "orchestratorId": orchestrator_id,
                "sessionId": session_id,
                "sessionStartedAt": session_started_at,
            }
        )
        return await self._c._call("POST", "/api/agents", models.Agent, body=body, idempotent=True)

    async def list(
        self,
        *,
        status: str | None = None,
        tag: str | None = None,
        kind: str | None = None,
        capability: str | None = None,
    ) -> list[models.Agent]:
        params = {"status": status, "tag": tag, "kind": kind, "capability": capability}
        return await self._c._call("GET", "/api/agents", list[models.Agent], params=params)

    async def get(self, agent_id: str) -> models.Agent:
        return await self._c._call("GET", f"/api/agents/{seg(agent_id)}", models.Agent)

    async def heartbeat(
        self,
        agent_id: str,
        *,
        status: str | None = None,
        session_id: str | None = None,
        session_started_at: int | None = None,
    ) -> models.Agent:
        """Keep the agent alive (a stale or offline agent comes back online)."""
        body = compact({"status": status, "sessionId": session_id, "sessionStartedAt": session_started_at})
        result = await self._c._call(
            "POST", f"/api/agents/{seg(agent_id)}/heartbeat", _AgentResult, body=body, idempotent=True
        )
        return result.agent

    async def set_status(
        self,
        agent_id: str,
        status: str,
        *,
        session_id: str | None = None,
        session_started_at: int | None = None,
    ) -> models.Agent:
        body = compact({"status": status, "sessionId": session_id, "sessionStartedAt": session_started_at})
        result = await self._c._call(
            "PATCH", f"/api/agents/{seg(agent_id)}/status", _AgentResult, body=body, idempotent=True
        )
        return result.agent

    async def set_label(self, agent_id: str, label: str | None) -> None:
        """Set the label, or clear it with None."""
        await self._c._ok("PATCH", f"/api/agents/{seg(agent_id)}/label", body={"label": label}, idempotent=True)

    async def set_tags(self, agent_id: str, tags: Sequence[str]) -> models.Agent:
        return await self._c._call(
            "PATCH", f"/api/agents/{seg(agent_id)}/tags", models.Agent, body={"tags": list(tags)}, idempotent=True
        )

    async def delete(self, agent_id: str) -> None:
        await self._c._ok("DELETE", f"/api/agents/{seg(agent_id)}")

    async def spawn(
        self,
        provider: str,
        *,
        approval_mode: str | None = None,
        cwd: str | None = None,
        label: str | None = None,
    ) -> models.SpawnAccepted:
        """An `agent.spawn` command to the first online orchestrator offering `provider`."""
        body = compact({"provider": provider, "approvalMode": approval_mode, "cwd": cwd, "label": label})
        return await self._c._call("POST", "/api/agents/spawn", models.SpawnAccepted, body=body)

    async def action(self, agent_id: str, action: str) -> models.ActionAccepted:
        """`restart` or `shutdown` a runner-managed agent (an `agent.<action>` command to its orchestrator)."""
        return await self._c._call(
            "POST", f"/api/agents/{seg(agent_id)}/actions", models.ActionAccepted, body={"action": action}
        )


class _AgentResult(models.Model):
    agent: models.Agent


class _ClaimResult(models.Model):
    message: models.Message


class _TaskResult(models.Model):
    task: models.Task


class AsyncMessages(_Area):
    """`/api/messages`: send, inbox and history, claims, read cursors."""

    async def send(
        self,
        from_: str,
        to: str | None = None,
        body: str = "",
        *,
        kind: str | None = None,
        subject: str | None = None,
        payload: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
        reply_to: int | None = None,
        channel: str | None = None,
        claimable: bool | None = None,
        idempotency_key: str | None = None,
    ) -> models.Message:
        """Send a message. `to`: an agent id, `tag:<t>`, `cap:<c>`, `label:<l>` or `broadcast`; with
        only `reply_to` it goes to the parent's sender. Retried after a lost answer only when it
        carries `idempotency_key` (the relay then answers a repeat with the first message)."""
        data = compact(
            {
                "from": from_,
                "to": to,
                "body": body,
                "kind": kind,
                "subject": subject,
                "payload": dict(payload) if payload is not None else None,
                "meta": dict(meta) if meta is not None else None,
                "replyTo": reply_to,
                "channel": channel,
                "claimable": claimable,
                "idempotencyKey": idempotency_key,
            }
        )
        return await self._c._call(
            "POST", "/api/messages", models.Message, body=data, idempotent=idempotency_key is not None
        )

    async def inbox(self, agent_id: str, *, since: int | None = None, limit: int | None = None) -> list[models.Message]:
        """The agent's direct, fan-out and broadcast messages after `since`, oldest first."""
        params = {"for": agent_id, "since": since, "limit": limit}
        return await self._c._call("GET", "/api/messages", list[models.Message], params=params)

    async def history(
        self,
        *,
        from_: str | None = None,
        to: str | None = None,
        channel: str | None = None,
        kind: str | None = None,
        since: int | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> list[models.Message]:
        params = {
            "from": from_,
            "to": to,
            "channel": channel,
            "kind": kind,
            "since": since,
            "before": before,
            "limit": limit,
        }
        return await self._c._call("GET", "/api/messages", list[models.Message], params=params)

    async def get(self, message_id: int) -> models.Message:
        return await self._c._call("GET", f"/api/messages/{seg(message_id)}", models.Message)

    async def cursor(self, agent_id: str) -> models.Cursor:
        return await self._c._call("GET", "/api/messages/cursor", models.Cursor, params={"agentId": agent_id})

    async def set_cursor(self, agent_id: str, cursor: int, *, rewind: bool = False) -> models.Cursor:
        """Move the read cursor (forward only unless `rewind`)."""
        body = compact({"agentId": agent_id, "cursor": cursor, "rewind": rewind or None})
        return await self._c._call("POST", "/api/messages/cursor", models.Cursor, body=body, idempotent=True)

    async def claim(self, message_id: int, agent_id: str, *, ttl_ms: int | None = None) -> models.Message:
        """Claim a claimable message: one agent wins (409 RelayError for the others); the holder renews."""
        body = compact({"agentId": agent_id, "ttlMs": ttl_ms})
        result = await self._c._call(
            "POST", f"/api/messages/{seg(message_id)}/claim", _ClaimResult, body=body, idempotent=True
        )
        return result.message

    async def release(self, message_id: int, agent_id: str | None = None) -> models.Message:
        result = await self._c._call(
            "POST", f"/api/messages/{seg(message_id)}/release", _ClaimResult, body=compact({"agentId": agent_id})
        )
        return result.message

    async def mark_read(self, message_id: int, agent_id: str) -> models.Cursor:
        """Acknowledge one message (`message.read` event); the cursor moves up to it."""
        return await self._c._call(
            "POST", f"/api/messages/{seg(message_id)}/read", models.Cursor, body={"agentId": agent_id}
        )


class AsyncTasks(_Area):
    """`/api/tasks`: work items, claims and status."""

    async def create(
        self,
        title: str,
        *,
        body: str | None = None,
        severity: str | None = None,
        target: str | None = None,
        channel: str | None = None,
        source: str | None = None,
        type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> models.Task:
        data = compact(
            {
                "title": title,
                "body": body,
                "severity": severity,
                "target": target,
                "channel": channel,
                "source": source,
                "type": type,
                "metadata": dict(metadata) if metadata is not None else None,
            }
        )
        return await self._c._call("POST", "/api/tasks", models.Task, body=data)

    async def list(
        self,
        *,
        status: str | None = None,
        target: str | None = None,
        channel: str | None = None,
        source: str | None = None,
        claimed_by: str | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> list[models.Task]:
        """Newest first; `before` (a task id) pages back."""
        params = {
            "status": status,
            "target": target,
            "channel": channel,
            "source": source,
            "claimedBy": claimed_by,
            "before": before,
            "limit": limit,
        }
        return await self._c._call("GET", "/api/tasks", list[models.Task], params=params)

    async def get(self, task_id: int) -> models.Task:
        return await self._c._call("GET", f"/api/tasks/{seg(task_id)}", models.Task)

    async def history(self, task_id: int) -> builtins.list[models.TaskEvent]:
        """`GET /api/tasks/:id/events`: every change of the task, oldest first."""
        return await self._c._call("GET", f"/api/tasks/{seg(task_id)}/events", list[models.TaskEvent])

    async def claim(self, task_id: int, agent_id: str, *, ttl_ms: int | None = None) -> models.Task:
        """One agent wins (409 RelayError `task already claimed by X` for the others); the holder renews."""
        body = compact({"agentId": agent_id, "ttlMs": ttl_ms})
        result = await self._c._call(
            "POST", f"/api/tasks/{seg(task_id)}/claim", _TaskResult, body=body, idempotent=True
        )
        return result.task

    async def set_status(
        self, task_id: int, status: str, *, agent_id: str | None = None, note: str | None = None
    ) -> models.Task:
        """`open` releases the claim; `claimed`/`in_progress`/`blocked` with `agent_id` hold it; `done`,
        `failed`, `canceled` finish the task."""
        body = compact({"status": status, "agentId": agent_id, "note": note})
        return await self._c._call("PATCH", f"/api/tasks/{seg(task_id)}/status", models.Task, body=body)


class AsyncCommands(_Area):
    """`/api/commands`: typed requests to agents and orchestrators, and their outcome."""

    async def create(
        self,
        type: str,
        *,
        source: str,
        target: str,
        params: Mapping[str, Any] | None = None,
        correlation_id: str | None = None,
        ttl_ms: int | None = None,
    ) -> models.Command:
        body = compact(
            {
                "type": type,
                "source": source,
                "target": target,
                "params": dict(params) if params is not None else None,
                "correlationId": correlation_id,
                "ttlMs": ttl_ms,
            }
        )
        return await self._c._call("POST", "/api/commands", models.Command, body=body)

    async def list(
        self,
        *,
        target: str | None = None,
        status: str | None = None,
        type: str | None = None,
        since: int | None = None,
        limit: int | None = None,
    ) -> list[models.Command]:
        """Oldest first. `target` + `status` reads only that target's queue (cheap to poll)."""
        params = {"target": target, "status": status, "type": type, "since": since, "limit": limit}
        return await self._c._call("GET", "/api/commands", list[models.Command], params=params)

    async def get(self, command_id: str) -> models.Command:
        return await self._c._call("GET", f"/api/commands/{seg(command_id)}", models.Command)

    async def update(
        self,
        command_id: str,
        *,
        status: str | None = None,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> models.Command:
        """Report progress or the outcome: `accepted`, `running`, `succeeded` (+ result), `failed`
        (+ error), `rejected`. 409 RelayError for a final command or an illegal transition."""
        body = compact({"status": status, "result": dict(result) if result is not None else None, "error": error})
        return await self._c._call("PATCH", f"/api/commands/{seg(command_id)}", models.Command, body=body)

    async def accept(self, command_id: str) -> models.Command:
        return await self.update(command_id, status="accepted")

    async def start(self, command_id: str) -> models.Command:
        return await self.update(command_id, status="running")

    async def succeed(self, command_id: str, result: Mapping[str, Any] | None = None) -> models.Command:
        return await self.update(command_id, status="succeeded", result=result)

    async def fail(self, command_id: str, error: str, result: Mapping[str, Any] | None = None) -> models.Command:
        return await self.update(command_id, status="failed", error=error, result=result)

    async def reject(self, command_id: str, error: str) -> models.Command:
        return await self.update(command_id, status="rejected", error=error)

    async def cancel(self, command_id: str) -> None:
        """Cancel a command that has not finished (404 RelayError when it cannot be)."""
        await self._c._ok("DELETE", f"/api/commands/{seg(command_id)}")


class AsyncOrchestrators(_Area):
    """`/api/orchestrators`: the host daemons that spawn agents."""

    async def register(
        self,
        id: str,
        hostname: str,
        *,
        providers: Sequence[str] | None = None,
        base_dir: str | None = None,
        env_keys: Sequence[str] | None = None,
        version: str | None = None,
        protocol_version: int | None = None,
        git_sha: str | None = None,
        meta: Mapping[str, Any] | None = None,
        api_url: str | None = None,
        api_token: str | None = None,
    ) -> models.Orchestrator:
        """Register or update (an upsert) the orchestrator and its agent card `orchestrator:<id>`.
        `api_token` is the bearer the relay sends when it proxies to `api_url` (never shown back)."""
        body = compact(
            {
                "id": id,
                "hostname": hostname,
                "providers": list(providers) if providers is not None else None,
                "baseDir": base_dir,
                "envKeys": list(env_keys) if env_keys is not None else None,
                "version": version,
                "protocolVersion": protocol_version,
                "gitSha": git_sha,
                "meta": dict(meta) if meta is not None else None,
                "apiUrl": api_url,
                "apiToken": api_token,
            }
        )
        return await self._c._call("POST", "/api/orchestrators", models.Orchestrator, body=body, idempotent=True)

    async def list(self) -> list[models.Orchestrator]:
        return await self._c._call("GET", "/api/orchestrators", list[models.Orchestrator])

    async def get(self, orchestrator_id: str) -> models.Orchestrator:
        return await self._c._call("GET", f"/api/orchestrators/{seg(orchestrator_id)}", models.Orchestrator)

    async def heartbeat(
        self,
        orchestrator_id: str,
        *,
        version: str | None = None,
        protocol_version: int | None = None,
        git_sha: str | None = None,
    ) -> None:
        """Keep the orchestrator and its agent card online."""
        body = compact({"version": version, "protocolVersion": protocol_version, "gitSha": git_sha})
        await self._c._ok("POST", f"/api/orchestrators/{seg(orchestrator_id)}/heartbeat", body=body, idempotent=True)

    async def set_agents(self, orchestrator_id: str, agents: Sequence[Mapping[str, Any]]) -> models.Orchestrator:
        """Replace the list of agents the orchestrator manages (objects, stored as sent)."""
        result = await self._c._call(
            "PATCH",
            f"/api/orchestrators/{seg(orchestrator_id)}/agents",
            _AgentsUpdated,
            body={"agents": [dict(a) for a in agents]},
            idempotent=True,
        )
        return result.orchestrator

    async def spawn(
        self,
        orchestrator_id: str,
        provider: str,
        *,
        approval_mode: str | None = None,
        cwd: str | None = None,
        label: str | None = None,
        prompt: str | None = None,
    ) -> models.SpawnAccepted:
        body = compact(
            {"provider": provider, "approvalMode": approval_mode, "cwd": cwd, "label": label, "prompt": prompt}
        )
        return await self._c._call(
            "POST", f"/api/orchestrators/{seg(orchestrator_id)}/spawn", models.SpawnAccepted, body=body
        )

    async def action(
        self, orchestrator_id: str, action: str, *, agent_id: str | None = None
    ) -> models.ActionAccepted:
        """`restart`/`shutdown` one managed agent (`agent_id`) or all of them."""
        body = compact({"action": action, "agentId": agent_id})
        return await self._c._call(
            "POST", f"/api/orchestrators/{seg(orchestrator_id)}/actions", models.ActionAccepted, body=body
        )

    async def directories(self, orchestrator_id: str, *, path: str | None = None) -> dict[str, Any]:
        """The orchestrator's own `/api/directories` answer, proxied by the relay (passed through as is)."""
        return await self._c._call(
            "GET", f"/api/orchestrators/{seg(orchestrator_id)}/directories", dict[str, Any], params={"path": path}
        )

    async def delete(self, orchestrator_id: str) -> None:
        await self._c._ok("DELETE", f"/api/orchestrators/{seg(orchestrator_id)}")


class _AgentsUpdated(models.Model):
    orchestrator: models.Orchestrator


class AsyncProviders(_Area):
    """`/api/providers`: how orchestrators launch claude and codex."""

    async def configs(self) -> dict[str, models.ProviderConfig]:
        return await self._c._call("GET", "/api/providers/config", dict[str, models.ProviderConfig])

    async def get(self, provider: str, *, reveal_env: bool = False) -> models.ProviderConfig:
        """The config; `reveal_env` shows the env values (orchestrator and admin tokens only, else 403)."""
        params = {"reveal": "env"} if reveal_env else None
        return await self._c._call(
            "GET", f"/api/providers/{seg(provider)}/config", models.ProviderConfig, params=params
        )

    async def put(self, provider: str, config: models.ProviderConfig | Mapping[str, Any]) -> models.ProviderConfig:
        """Replace the config (`command` required; absent fields take the defaults)."""
        body = config.to_dict() if isinstance(config, models.ProviderConfig) else dict(config)
        return await self._c._call("PUT", f"/api/providers/{seg(provider)}/config", models.ProviderConfig, body=body)

    async def test(
        self, provider: str, *, orchestrator_id: str | None = None, via_orchestrator: bool = False
    ) -> models.ProviderTestResult:
        """Check the configured command on the API node, or on an orchestrator. A failed check is a
        result with `ok=False` (the relay's 422), not an exception."""
        body = compact({"orchestratorId": orchestrator_id, "via": "orchestrator" if via_orchestrator else None})
        return await self._c._call(
            "POST",
            f"/api/providers/{seg(provider)}/config/test",
            models.ProviderTestResult,
            body=body,
            timeout=self._c.timeout + WAITING_ROUTE_EXTRA_S,
            accept=(422,),
        )


class AsyncConnectors(_Area):
    """`/api/connectors`: bridges run on an orchestrator's host."""

    async def list(self) -> list[models.Connector]:
        return await self._c._call("GET", "/api/connectors", list[models.Connector])

    async def get(self, connector_id: str) -> models.Connector:
        return await self._c._call("GET", f"/api/connectors/{seg(connector_id)}", models.Connector)

    async def put(
        self,
        connector_id: str,
        *,
        kind: str,
        orchestrator_id: str,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
        enabled: bool | None = None,
    ) -> models.Connector:
        body = compact(
            {
                "kind": kind,
                "orchestratorId": orchestrator_id,
                "name": name,
                "config": dict(config) if config is not None else None,
                "enabled": enabled,
            }
        )
        return await self._c._call("PUT", f"/api/connectors/{seg(connector_id)}", models.Connector, body=body)

    async def put_config(self, connector_id: str, config: Mapping[str, Any]) -> models.Connector:
        return await self._c._call(
            "PUT", f"/api/connectors/{seg(connector_id)}/config", models.Connector, body={"config": dict(config)}
        )

    async def delete(self, connector_id: str) -> None:
        await self._c._ok("DELETE", f"/api/connectors/{seg(connector_id)}")

    async def action(
        self, connector_id: str, action: str, *, wait: bool | None = None, timeout_ms: int | None = None
    ) -> models.ConnectorActionResult:
        """A `connector.<action>` command to the host, waited for. A failed action is a result with
        `ok=False` (the relay's 502 with the outcome), not an exception."""
        body = compact({"action": action, "wait": wait, "timeoutMs": timeout_ms})
        wait_s = (timeout_ms / 1000 if timeout_ms else 0) + WAITING_ROUTE_EXTRA_S
        return await self._c._call(
            "POST",
            f"/api/connectors/{seg(connector_id)}/actions",
            models.ConnectorActionResult,
            body=body,
            timeout=self._c.timeout + wait_s,
            accept=(502,),
        )


class AsyncRecipes(_Area):
    """`/api/recipes`: multi-agent workflows and their running instances."""

    async def list(self) -> list[models.LoadedRecipe]:
        return await self._c._call("GET", "/api/recipes", list[models.LoadedRecipe])

    async def get(self, name: str) -> models.LoadedRecipe:
        return await self._c._call("GET", f"/api/recipes/{seg(name)}", models.LoadedRecipe)

    async def start(
        self,
        name: str | None = None,
        *,
        recipe: Mapping[str, Any] | None = None,
        cwd: str | None = None,
        orchestrator_id: str | None = None,
        started_by: str | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> models.RecipeRun:
        """Start a recipe by `name` (or a whole `recipe` object): the instance and its first commands."""
        body = compact(
            {
                "name": name,
                "recipe": dict(recipe) if recipe is not None else None,
                "cwd": cwd,
                "orchestratorId": orchestrator_id,
                "startedBy": started_by,
                "parameters": dict(parameters) if parameters is not None else None,
            }
        )
        return await self._c._call("POST", "/api/recipes/start", models.RecipeRun, body=body)

    async def instances(
        self, *, status: str | None = None, limit: int | None = None
    ) -> builtins.list[models.RecipeInstance]:
        params = {"status": status, "limit": limit}
        return await self._c._call("GET", "/api/recipes/instances", list[models.RecipeInstance], params=params)

    async def instance(self, instance_id: str) -> models.RecipeInstance:
        return await self._c._call("GET", f"/api/recipes/instances/{seg(instance_id)}", models.RecipeInstance)

    async def stop(self, instance_id: str, *, stopped_by: str | None = None) -> models.RecipeRun:
        """Stop a running instance: its open commands are canceled, its agents get shutdown commands."""
        return await self._c._call(
            "POST",
            f"/api/recipes/instances/{seg(instance_id)}/stop",
            models.RecipeRun,
            body=compact({"stoppedBy": stopped_by}),
        )


class AsyncAutomations(_Area):
    """`/api/automations` and `/api/automation-runs`: schedules and event triggers."""

    async def list(self) -> list[models.Automation]:
        return await self._c._call("GET", "/api/automations", list[models.Automation])

    async def get(self, automation_id: str) -> models.Automation:
        return await self._c._call("GET", f"/api/automations/{seg(automation_id)}", models.Automation)

    async def create(
        self,
        name: str,
        *,
        trigger: Mapping[str, Any],
        action: Mapping[str, Any],
        enabled: bool | None = None,
        created_by: str | None = None,
    ) -> models.Automation:
        body = compact(
            {
                "name": name,
                "trigger": dict(trigger),
                "action": dict(action),
                "enabled": enabled,
                "createdBy": created_by,
            }
        )
        return await self._c._call("POST", "/api/automations", models.Automation, body=body)

    async def update(
        self,
        automation_id: str,
        *,
        name: str | None = None,
        trigger: Mapping[str, Any] | None = None,
        action: Mapping[str, Any] | None = None,
        enabled: bool | None = None,
    ) -> models.Automation:
        body = compact(
            {
                "name": name,
                "trigger": dict(trigger) if trigger is not None else None,
                "action": dict(action) if action is not None else None,
                "enabled": enabled,
            }
        )
        return await self._c._call(
            "PATCH", f"/api/automations/{seg(automation_id)}", models.Automation, body=body, idempotent=True
        )

    async def delete(self, automation_id: str) -> None:
        await self._c._ok("DELETE", f"/api/automations/{seg(automation_id)}")

    async def preview(
        self, cron: str, *, timezone: str | None = None, count: int | None = None, after: int | None = None
    ) -> models.SchedulePreview:
        """The next `count` slots of `cron` as the workers would schedule them; nothing is stored."""
        params = {"cron": cron, "timezone": timezone, "count": count, "after": after}
        return await self._c._call("GET", "/api/automations/schedule/preview", models.SchedulePreview, params=params)

    async def run(self, automation_id: str) -> models.DispatchResult:
        """Run it now (also when disabled): the run and what its action created."""
        return await self._c._call("POST", f"/api/automations/{seg(automation_id)}/run", models.DispatchResult)

    async def runs(
        self, *, automation_id: str | None = None, status: str | None = None, limit: int | None = None
    ) -> builtins.list[models.AutomationRun]:
        """Newest first."""
        params = {"automationId": automation_id, "status": status, "limit": limit}
        return await self._c._call("GET", "/api/automation-runs", list[models.AutomationRun], params=params)


class AsyncTokens(_Area):
    """`/api/tokens`: signed API tokens (admin only)."""

    async def create(
        self,
        role: str,
        *,
        sub: str | None = None,
        scope: Sequence[str] | None = None,
        ttl_seconds: int | None = None,
        created_by: str | None = None,
    ) -> models.IssuedToken:
        """Issue a token; its secret (`.token`) is in this answer only."""
        body = compact(
            {
                "role": role,
                "sub": sub,
                "scope": list(scope) if scope is not None else None,
                "ttlSeconds": ttl_seconds,
                "createdBy": created_by,
            }
        )
        return await self._c._call("POST", "/api/tokens", models.IssuedToken, body=body)

    async def list(self, *, limit: int | None = None) -> list[models.TokenRecord]:
        return await self._c._call("GET", "/api/tokens", list[models.TokenRecord], params={"limit": limit})

    async def get(self, jti: str) -> models.TokenRecord:
        return await self._c._call("GET", f"/api/tokens/{seg(jti)}", models.TokenRecord)

    async def revoke(self, jti: str) -> None:
        """Revoke at once on every node (404 RelayError `token not found or already revoked`)."""
        await self._c._ok("POST", f"/api/tokens/{seg(jti)}/revoke")


class AsyncChannels(_Area):
    """`/api/channels` and `/api/channel-bindings`."""

    async def list(self) -> list[models.Channel]:
        return await self._c._call("GET", "/api/channels", list[models.Channel])

    async def post_event(
        self,
        channel_id: str,
        body: str = "",
        *,
        subject: str | None = None,
        payload: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> models.ChannelEventResult:
        """One `channel.event` message per binding (retried after a lost answer only with `idempotency_key`)."""
        data = compact(
            {
                "body": body,
                "subject": subject,
                "payload": dict(payload) if payload is not None else None,
                "idempotencyKey": idempotency_key,
            }
        )
        return await self._c._call(
            "POST",
            f"/api/channels/{seg(channel_id)}/events",
            models.ChannelEventResult,
            body=data,
            idempotent=idempotency_key is not None,
        )

    async def bindings(self, *, channel_id: str | None = None) -> builtins.list[models.ChannelBinding]:
        return await self._c._call(
            "GET", "/api/channel-bindings", list[models.ChannelBinding], params={"channelId": channel_id}
        )

    async def bind(
        self, channel_id: str, target: str, *, mode: str | None = None, direction: str | None = None
    ) -> models.ChannelBinding:
        body = compact({"channelId": channel_id, "target": target, "mode": mode, "direction": direction})
        return await self._c._call("POST", "/api/channel-bindings", models.ChannelBinding, body=body)

    async def unbind(self, binding_id: int) -> None:
        await self._c._ok("DELETE", f"/api/channel-bindings/{seg(binding_id)}")


class AsyncIntegrations(_Area):
    """`/api/integrations`: external systems posting events with their own token."""

    async def list(self) -> list[models.Integration]:
        return await self._c._call("GET", "/api/integrations", list[models.Integration])

    async def post_event(
        self,
        target: str,
        title: str,
        *,
        channel: str | None = None,
        type: str | None = None,
        body: str | None = None,
        severity: str | None = None,
        external_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> models.IntegrationEventResult:
        """Create a task (or update the one with the same `external_id`, so a repeat is harmless)."""
        data = compact(
            {
                "target": target,
                "title": title,
                "channel": channel,
                "type": type,
                "body": body,
                "severity": severity,
                "externalId": external_id,
                "metadata": dict(metadata) if metadata is not None else None,
            }
        )
        return await self._c._call(
            "POST",
            "/api/integrations/events",
            models.IntegrationEventResult,
            body=data,
            idempotent=external_id is not None,
        )

    async def deliveries(
        self, *, integration: str | None = None, status: str | None = None, limit: int | None = None
    ) -> builtins.list[models.Delivery]:
        params = {"integration": integration, "status": status, "limit": limit}
        return await self._c._call("GET", "/api/integrations/deliveries", list[models.Delivery], params=params)


class AsyncPairs(_Area):
    """`/api/pairs`: two agents working together."""

    async def create(
        self,
        from_: str,
        to: str,
        *,
        topic: str | None = None,
        ttl_ms: int | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> models.Pair:
        body = compact(
            {"from": from_, "to": to, "topic": topic, "ttlMs": ttl_ms, "meta": dict(meta) if meta is not None else None}
        )
        return await self._c._call("POST", "/api/pairs", models.Pair, body=body)

    async def list(
        self, *, agent_id: str | None = None, status: str | None = None, limit: int | None = None
    ) -> list[models.Pair]:
        params = {"agentId": agent_id, "status": status, "limit": limit}
        return await self._c._call("GET", "/api/pairs", list[models.Pair], params=params)

    async def get(self, pair_id: int) -> models.Pair:
        return await self._c._call("GET", f"/api/pairs/{seg(pair_id)}", models.Pair)

    async def accept(self, pair_id: int, agent_id: str, *, reason: str | None = None) -> models.Pair:
        return await self._transition(pair_id, "accept", agent_id, reason)

    async def reject(self, pair_id: int, agent_id: str, *, reason: str | None = None) -> models.Pair:
        return await self._transition(pair_id, "reject", agent_id, reason)

    async def end(self, pair_id: int, agent_id: str, *, reason: str | None = None) -> models.Pair:
        return await self._transition(pair_id, "end", agent_id, reason)

    async def _transition(self, pair_id: int, verb: str, agent_id: str, reason: str | None) -> models.Pair:
        body = compact({"agentId": agent_id, "reason": reason})
        return await self._c._call("POST", f"/api/pairs/{seg(pair_id)}/{verb}", models.Pair, body=body)

    async def message(
        self,
        pair_id: int,
        from_: str,
        body: str = "",
        *,
        subject: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> models.Message:
        """A `pair` message to the other agent of an active pair."""
        data = compact(
            {"from": from_, "body": body, "subject": subject, "payload": dict(payload) if payload is not None else None}
        )
        return await self._c._call("POST", f"/api/pairs/{seg(pair_id)}/messages", models.Message, body=data)


class AsyncActivity(_Area):
    """`/api/activity`: the audit feed."""

    async def list(
        self,
        *,
        kind: str | None = None,
        agent_id: str | None = None,
        before: int | None = None,
        since: int | None = None,
        limit: int | None = None,
    ) -> list[models.Activity]:
        """Newest first."""
        params = {"kind": kind, "agentId": agent_id, "before": before, "since": since, "limit": limit}
        return await self._c._call("GET", "/api/activity", list[models.Activity], params=params)

    async def post(
        self,
        title: str,
        *,
        kind: str = "state",
        body: str | None = None,
        meta: str | None = None,
        icon: str | None = None,
        view: str | None = None,
        agent_id: str | None = None,
        message_id: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        client_id: str | None = None,
    ) -> models.Activity | None:
        """Record an entry; None when `client_id` was recorded before (so a retry cannot duplicate it)."""
        data = compact(
            {
                "kind": kind,
                "title": title,
                "body": body,
                "meta": meta,
                "icon": icon,
                "view": view,
                "agentId": agent_id,
                "messageId": message_id,
                "metadata": dict(metadata) if metadata is not None else None,
                "clientId": client_id,
            }
        )
        result = await self._c._call(
            "POST", "/api/activity", dict[str, Any], body=data, idempotent=client_id is not None
        )
        if result.get("duplicate") is True:
            return None
        return msgspec.convert(result, models.Activity)


class AsyncSystem(_Area):
    """`/api/system` and the API node's own `/api/host/directories`."""

    async def reap(self) -> models.ReapReport:
        """Run the reaper's pass now; the ids it touched."""
        return await self._c._call("POST", "/api/system/reap", models.ReapReport, idempotent=True)

    async def broadcast(
        self, body: str, *, subject: str | None = None, payload: Mapping[str, Any] | None = None
    ) -> models.Message:
        """A `system` message to every agent."""
        data = compact({"body": body, "subject": subject, "payload": dict(payload) if payload is not None else None})
        result = await self._c._call("POST", "/api/system/broadcast", models.BroadcastResult, body=data)
        return result.message

    async def host_directories(self, *, path: str | None = None) -> models.HostDirectories:
        return await self._c._call("GET", "/api/host/directories", models.HostDirectories, params={"path": path})
