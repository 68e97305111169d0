"""`relay mcp`: an MCP server for one agent, on the official `mcp` SDK (FastMCP).

The tools speak for the agent the server was started for (`--agent-id`): every message it sends is
`from` it, every inbox, claim, task and command report is its own. Results are JSON (as text, and
as structured content); a call the relay refuses comes back as an MCP tool error whose text is the
relay's own (`relay answered 422: agent "b" is offline`), so the model can act on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

from mcp.server.fastmcp import FastMCP
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from relay_client import AsyncClient, RelayError
from relay_client.mcp.session import AgentSession, CardFields, InboxBatch
from relay_client.models import COMMAND_FINAL_STATUSES, Command, Message, Model

log = logging.getLogger("relay.mcp")

F = TypeVar("F", bound=Callable[..., Awaitable[CallToolResult]])

MAX_WAIT_S = 600
AgentStatus = Literal["online", "idle", "busy", "stale", "offline"]
CommandFilter = Literal[
    "open", "all", "pending", "accepted", "running", "succeeded", "failed", "timed_out", "rejected", "canceled"
]
OPEN_COMMAND_STATUSES = ("pending", "accepted", "running")


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def answer(value: Any) -> CallToolResult:
    data = value.to_dict() if isinstance(value, Model) else value
    structured = data if isinstance(data, dict) else {"result": data}
    return CallToolResult(content=[TextContent(type="text", text=_text(data))], structuredContent=structured)


def refused(exc: RelayError) -> CallToolResult:
    text = f"relay answered {exc.status}: {exc.error}" if exc.status else f"relay unreachable: {exc.error}"
    return CallToolResult(content=[TextContent(type="text", text=text)], isError=True)


def relay_errors(fn: F) -> F:
    """A refusal of the relay becomes a tool error carrying its text (not a protocol error)."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> CallToolResult:
        try:
            return await fn(*args, **kwargs)
        except RelayError as exc:
            return refused(exc)

    return wrapper  # type: ignore[return-value]


def message_view(message: Message) -> dict[str, Any]:
    """A message as the model reads it (the fields it acts on, none that are always empty)."""
    view = {
        "id": message.id,
        "from": message.from_,
        "to": message.to,
        "kind": message.kind,
        "subject": message.subject,
        "body": message.body,
        "payload": message.payload,
        "replyTo": message.reply_to,
        "threadId": message.thread_id,
        "channel": message.channel,
        "claimable": message.claimable or None,
        "claimedBy": message.claimed_by,
        "createdAt": message.created_at,
    }
    return {k: v for k, v in view.items() if v is not None}


def batch_view(batch: InboxBatch) -> dict[str, Any]:
    return {
        "messages": [message_view(m) for m in batch.messages],
        "more": batch.more,
        "cursor": batch.cursor,
        "timedOut": batch.timed_out,
    }


INSTRUCTIONS = """You are agent {agent_id} on Agent Relay, where AI agents, their orchestrators and people \
exchange messages, share tasks and receive commands.
- Read new mail with check_inbox; when you have nothing to do, call wait_for_messages instead of polling.
- Answer a message with send_message(reply_to=<its id>) — it goes back to the sender.
- A claimable message (claimable: true) is work only one agent should take: claim_message before acting.
- Tasks: list_tasks, claim_task, then update_task as you go (in_progress, blocked, done, failed).
- Commands are typed requests addressed to you: my_commands lists them; update_command reports accepted, \
running, then succeeded (with a result) or failed (with an error).
- Keep set_status current (busy while working, idle when free) and note milestones with post_activity."""


def build_server(session: AgentSession, *, host: str = "127.0.0.1", port: int = 8000) -> FastMCP:  # noqa: C901
    relay = session.client
    me = session.agent_id
    mcp = FastMCP(
        "agent-relay",
        instructions=INSTRUCTIONS.format(agent_id=me),
        host=host,
        port=port,
        log_level="WARNING",
    )
    read_only = ToolAnnotations(readOnlyHint=True, openWorldHint=False)

    @mcp.tool(
        description="Who you are on the relay: your agent card (id, status, tags, capabilities, label) "
        "and your inbox position (cursor = last message you read, latestId = newest message on the relay).",
        annotations=read_only,
    )
    @relay_errors
    async def whoami() -> CallToolResult:
        card = await relay.agents.get(me)
        cursor = await relay.messages.cursor(me)
        inbox = {"cursor": cursor.cursor, "latestId": cursor.latest_id}
        return answer({"agent": card.to_dict(), "relay": relay.url, "inbox": inbox})

    @mcp.tool(
        description="List the agents on the relay, optionally only those with a status, tag, capability or kind. "
        "Use it to find whom to message (by id) or which tag/capability/label to address.",
        annotations=read_only,
    )
    @relay_errors
    async def list_agents(
        status: Annotated[AgentStatus | None, Field(description="only agents in this status")] = None,
        tag: Annotated[str | None, Field(description="only agents carrying this tag")] = None,
        capability: Annotated[str | None, Field(description="only agents with this capability")] = None,
        kind: Annotated[
            Literal["provider", "channel", "orchestrator", "system", "user"] | None,
            Field(description="only agents of this kind (provider = an AI agent like you)"),
        ] = None,
    ) -> CallToolResult:
        agents = await relay.agents.list(status=status, tag=tag, capability=capability, kind=kind)
        keep = ("id", "name", "kind", "status", "label", "tags", "capabilities", "lastSeen")
        return answer({"agents": [{k: a.to_dict()[k] for k in keep} for a in agents]})

    @mcp.tool(
        description="Send a message from you. `to` is an agent id, `tag:<tag>`, `cap:<capability>`, "
        "`label:<label>` (every matching agent but you) or `broadcast` (every agent). To answer a message, "
        "give `reply_to` with its id and leave `to` empty: it goes to that message's sender, in the same thread. "
        "Give an `idempotency_key` when you might send the same message twice (a retry): the relay stores it once. "
        "A direct message to an offline agent is refused.",
        annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=False, openWorldHint=False),
    )
    @relay_errors
    async def send_message(
        body: Annotated[str, Field(description="the message text")],
        to: Annotated[str | None, Field(description="recipient: agent id, tag:x, cap:x, label:x or broadcast")] = None,
        reply_to: Annotated[int | None, Field(description="id of the message you answer", ge=1)] = None,
        subject: Annotated[str | None, Field(description="a short subject line", max_length=500)] = None,
        kind: Annotated[
            # `system` messages are the relay's own: an agent token's are refused (403).
            Literal["chat", "task", "control"], Field(description="chat unless you know better")
        ] = "chat",
        idempotency_key: Annotated[
            str | None, Field(description="a unique key: a repeat with it is not stored twice", max_length=240)
        ] = None,
        claimable: Annotated[
            bool, Field(description="true when only one recipient should take it on (they claim it)")
        ] = False,
        payload: Annotated[dict[str, Any] | None, Field(description="structured data to attach (JSON object)")] = None,
    ) -> CallToolResult:
        sent = await relay.messages.send(
            me,
            to,
            body,
            reply_to=reply_to,
            subject=subject,
            kind=kind,
            idempotency_key=idempotency_key,
            claimable=claimable or None,
            payload=payload,
        )
        return answer({"sent": message_view(sent)})

    @mcp.tool(
        description="Read the messages you have not read yet (after your read cursor), oldest first, and mark "
        "them read (the cursor moves past them; pass mark_read=false to only look). `more` says more are waiting.",
    )
    @relay_errors
    async def check_inbox(
        limit: Annotated[int, Field(description="at most this many messages", ge=1, le=100)] = 20,
        mark_read: Annotated[bool, Field(description="move your read cursor past what is returned")] = True,
    ) -> CallToolResult:
        return answer(batch_view(await session.check_inbox(limit, mark_read=mark_read)))

    @mcp.tool(
        description="Wait until a message arrives for you, then return your unread messages like check_inbox. "
        "Returns at once if some are already waiting; after `timeout_s` with none it returns an empty list and "
        "timedOut=true. Use it to idle between pieces of work instead of calling check_inbox repeatedly.",
    )
    @relay_errors
    async def wait_for_messages(
        timeout_s: Annotated[int, Field(description="how long to wait, in seconds", ge=1, le=MAX_WAIT_S)] = 60,
        limit: Annotated[int, Field(description="at most this many messages", ge=1, le=100)] = 20,
        mark_read: Annotated[bool, Field(description="move your read cursor past what is returned")] = True,
    ) -> CallToolResult:
        return answer(batch_view(await session.wait_for_messages(timeout_s, limit, mark_read=mark_read)))

    @mcp.tool(
        description="Claim a claimable message so that you alone handle it. Exactly one agent wins; if another "
        "already holds it you get an error naming the holder. The claim expires after ttl_ms unless you claim "
        "again (which renews it) or release it.",
    )
    @relay_errors
    async def claim_message(
        message_id: Annotated[int, Field(description="the message id", ge=1)],
        ttl_ms: Annotated[int | None, Field(description="claim lifetime in ms (relay default: 5 min)", ge=1)] = None,
    ) -> CallToolResult:
        return answer({"claimed": message_view(await relay.messages.claim(message_id, me, ttl_ms=ttl_ms))})

    @mcp.tool(description="Release your claim on a message so another agent can take it.")
    @relay_errors
    async def release_message(
        message_id: Annotated[int, Field(description="the message id", ge=1)],
    ) -> CallToolResult:
        return answer({"released": message_view(await relay.messages.release(message_id, me))})

    @mcp.tool(
        description="List tasks (work items), newest first. `target` set to your id shows tasks addressed to "
        "you; mine=true shows the tasks you hold; `status` narrows (open tasks are free to claim).",
        annotations=read_only,
    )
    @relay_errors
    async def list_tasks(
        status: Annotated[
            Literal["open", "claimed", "in_progress", "blocked", "orphaned", "done", "failed", "canceled"] | None,
            Field(description="only tasks in this status"),
        ] = None,
        target: Annotated[str | None, Field(description="only tasks addressed to this agent")] = None,
        mine: Annotated[bool, Field(description="only tasks claimed by you")] = False,
        limit: Annotated[int, Field(description="at most this many", ge=1, le=100)] = 20,
    ) -> CallToolResult:
        tasks = await relay.tasks.list(status=status, target=target, claimed_by=me if mine else None, limit=limit)
        return answer({"tasks": [t.to_dict() for t in tasks]})

    @mcp.tool(
        description="Claim a task so that you work on it: one agent wins (an error names the holder otherwise). "
        "Then report progress with update_task.",
    )
    @relay_errors
    async def claim_task(
        task_id: Annotated[int, Field(description="the task id", ge=1)],
        ttl_ms: Annotated[int | None, Field(description="claim lifetime in ms; update_task renews it", ge=1)] = None,
    ) -> CallToolResult:
        return answer({"task": (await relay.tasks.claim(task_id, me, ttl_ms=ttl_ms)).to_dict()})

    @mcp.tool(
        description="Move a task you work on: in_progress or blocked (keeps your claim), done or failed (finishes "
        "it), open (gives it back), canceled. Add a note saying what happened: it goes into the task's history.",
    )
    @relay_errors
    async def update_task(
        task_id: Annotated[int, Field(description="the task id", ge=1)],
        status: Annotated[
            Literal["in_progress", "blocked", "done", "failed", "open", "canceled"], Field(description="the new status")
        ],
        note: Annotated[str | None, Field(description="what happened (at most 4000 chars)", max_length=4000)] = None,
    ) -> CallToolResult:
        return answer({"task": (await relay.tasks.set_status(task_id, status, agent_id=me, note=note)).to_dict()})

    @mcp.tool(
        description="Commands addressed to you (typed requests such as agent.prompt), oldest first. By default the "
        "open ones (pending, accepted, running); pass a status to see others, or all.",
        annotations=read_only,
    )
    @relay_errors
    async def my_commands(
        status: Annotated[
            CommandFilter,
            Field(description="open = pending, accepted or running"),
        ] = "open",
        limit: Annotated[int, Field(description="at most this many", ge=1, le=100)] = 20,
    ) -> CallToolResult:
        if status == "open":
            found: list[Command] = []
            for each in OPEN_COMMAND_STATUSES:
                found += await relay.commands.list(target=me, status=each, limit=limit)
            commands = sorted(found, key=lambda c: (c.created_at, c.id))[:limit]
        else:
            commands = await relay.commands.list(target=me, status=None if status == "all" else status, limit=limit)
        return answer({"commands": [c.to_dict() for c in commands]})

    @mcp.tool(
        description="Report on a command addressed to you: accepted (you will do it), running (you are on it), "
        "succeeded (done; put what came of it in `result`), failed (put why in `error`), or rejected (you will "
        "not do it; say why in `error`). A finished command cannot change again.",
    )
    @relay_errors
    async def update_command(
        command_id: Annotated[str, Field(description="the command id (cmd_...)")],
        status: Annotated[
            Literal["accepted", "running", "succeeded", "failed", "rejected"], Field(description="the new status")
        ],
        result: Annotated[dict[str, Any] | None, Field(description="the outcome, as a JSON object")] = None,
        error: Annotated[str | None, Field(description="why it failed or was rejected", max_length=4000)] = None,
    ) -> CallToolResult:
        command = await relay.commands.update(command_id, status=status, result=result, error=error)
        done = command.status in COMMAND_FINAL_STATUSES
        return answer({"command": command.to_dict(), "final": done})

    @mcp.tool(description="Set your status so others know whether you are free: busy while working, idle when free.")
    @relay_errors
    async def set_status(
        status: Annotated[Literal["online", "idle", "busy"], Field(description="your new status")],
    ) -> CallToolResult:
        card = await relay.agents.set_status(
            me, status, session_id=session.session_id, session_started_at=session.started_at
        )
        return answer({"agent": card.to_dict()})

    @mcp.tool(
        description="Record a line in the relay's activity feed, which people watch on the dashboard: a milestone, "
        "a decision, a question for a human (kind=question).",
    )
    @relay_errors
    async def post_activity(
        title: Annotated[str, Field(description="one line saying what happened", max_length=240)],
        body: Annotated[str | None, Field(description="details")] = None,
        kind: Annotated[
            # `operator` entries are people's: an agent token's are refused (403).
            Literal["state", "task", "question", "message", "reply", "pair"],
            Field(description="state for progress, question to ask a person"),
        ] = "state",
        metadata: Annotated[dict[str, Any] | None, Field(description="structured details (JSON object)")] = None,
    ) -> CallToolResult:
        entry = await relay.activity.post(title, kind=kind, body=body, agent_id=me, metadata=metadata)
        return answer({"activity": entry.to_dict() if entry else None})

    return mcp


async def serve(
    agent_id: str,
    *,
    url: str | None = None,
    token: str | None = None,
    card: CardFields | None = None,
    http: bool = False,
    host: str = "127.0.0.1",
    port: int = 8000,
    heartbeat_s: float = 20.0,
) -> None:
    """Register (or adopt) the agent, heartbeat it, and serve MCP until stdin closes or a signal comes."""
    async with AsyncClient(url, token) as client:
        session = AgentSession(client, agent_id, card, heartbeat_s=heartbeat_s)
        await session.start()
        log.info("agent %s on %s (%s)", agent_id, client.url, "adopted" if session.adopted else "registered")
        main = asyncio.current_task()
        if http:
            # uvicorn stops on SIGINT/SIGTERM and then raises the signal again for whoever handled it
            # before; handled here as "already stopping", so the session still ends cleanly below.
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: None)
        elif main is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
        server = build_server(session, host=host, port=port)
        try:
            if http:
                await server.run_streamable_http_async()
            else:
                await server.run_stdio_async()
        except asyncio.CancelledError:
            pass
        finally:
            await session.stop()
