"""`relay mcp` driven by an MCP client of the official `mcp` SDK, over stdio: a whole agent day —
register, receive a message from another agent, reply, claim, take a task to done, answer commands —
and over streamable HTTP. The agent's token is a real agent token, so ownership rules apply."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent

from relay_api.embedded import free_port
from relay_client import AsyncClient, RelayError
from tests.conftest import ADMIN_TOKEN
from tests.procs import ROOT

pytestmark = pytest.mark.multinode

TOOLS = {
    "whoami",
    "list_agents",
    "send_message",
    "check_inbox",
    "wait_for_messages",
    "claim_message",
    "release_message",
    "list_tasks",
    "claim_task",
    "update_task",
    "my_commands",
    "update_command",
    "set_status",
    "post_activity",
}


def server_env(url: str, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_RELAY_")}
    env.update(
        {
            "AGENT_RELAY_URL": url,
            "AGENT_RELAY_TOKEN": token,
            "AGENT_RELAY_AGENT_ID": "dev1",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@asynccontextmanager
async def agent_session(url: str, token: str, *args: str) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "relay_client.cli", "mcp", "--tag", "team", "--capability", "python", *args],
        env=server_env(url, token),
        cwd=str(ROOT),
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def payload(result: CallToolResult) -> Any:
    assert not result.isError, result.content
    block = result.content[0]
    assert isinstance(block, TextContent)
    return json.loads(block.text)


def error_text(result: CallToolResult) -> str:
    assert result.isError
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


async def sse_clients(url: str) -> int:
    async with httpx.AsyncClient() as http:
        return int((await http.get(url + "/api/health")).json()["sse"]["clients"])


async def test_an_agent_day_over_stdio(url: str) -> None:
    async with AsyncClient(url, ADMIN_TOKEN) as admin:
        for other in ("lead", "peer"):
            await admin.agents.register(other)
        token = (await admin.tokens.create("agent", sub="dev1")).token

        async with agent_session(url, token, "--heartbeat-s", "0.5") as mcp:
            listed = await mcp.list_tools()
            assert {t.name for t in listed.tools} == TOOLS
            for tool in listed.tools:
                assert tool.description and len(tool.description) > 40, tool.name
                assert tool.inputSchema["type"] == "object"
            send_schema = next(t for t in listed.tools if t.name == "send_message").inputSchema
            assert send_schema["required"] == ["body"] and "reply_to" in send_schema["properties"]

            # Registered on start, with what the command line gave it.
            me = payload(await mcp.call_tool("whoami", {}))
            assert me["agent"]["id"] == "dev1" and me["agent"]["status"] == "online"
            assert me["agent"]["tags"] == ["team"] and me["agent"]["capabilities"] == ["python"]
            card = await admin.agents.get("dev1")
            assert card.session_id and card.session_id.startswith("mcp-")
            # ... and kept alive by heartbeats while the session lives.
            seen = card.last_seen or 0
            async with asyncio.timeout(30):  # a guard against hanging, not a timing assertion
                while (await admin.agents.get("dev1")).last_seen == seen:
                    await asyncio.sleep(0.1)
            names = {a["id"] for a in payload(await mcp.call_tool("list_agents", {}))["agents"]}
            assert {"dev1", "lead", "peer"} <= names

            # A message from another agent wakes a waiting agent.
            baseline = await sse_clients(url)
            waiting = asyncio.create_task(mcp.call_tool("wait_for_messages", {"timeout_s": 60}))
            async with asyncio.timeout(30):
                while await sse_clients(url) == baseline:  # the wait has subscribed
                    await asyncio.sleep(0.05)
            brief = await admin.messages.send("lead", "dev1", "please add a health check", subject="work")
            woke = payload(await waiting)
            assert woke["timedOut"] is False
            assert [(m["id"], m["from"], m["body"]) for m in woke["messages"]] == [
                (brief.id, "lead", "please add a health check")
            ]
            # It was marked read: the inbox is empty now, and a short wait times out.
            assert payload(await mcp.call_tool("check_inbox", {}))["messages"] == []
            quiet = payload(await mcp.call_tool("wait_for_messages", {"timeout_s": 1}))
            assert (quiet["messages"], quiet["timedOut"]) == ([], True)

            # Reply: back to the sender, in the thread.
            reply = payload(await mcp.call_tool("send_message", {"body": "on it", "reply_to": brief.id}))["sent"]
            assert (reply["to"], reply["from"], reply["replyTo"], reply["threadId"]) == ("lead", "dev1", brief.id, brief.id)
            assert [m.body for m in await admin.messages.inbox("lead")] == ["on it"]

            # A claimable message to the team: dev1 wins it, peer cannot take it.
            offer = await admin.messages.send("lead", "tag:team", "who takes the release?", claimable=True)
            inbox = payload(await mcp.call_tool("check_inbox", {}))
            assert [(m["id"], m["claimable"]) for m in inbox["messages"]] == [(offer.id, True)]
            claimed = payload(await mcp.call_tool("claim_message", {"message_id": offer.id}))["claimed"]
            assert claimed["claimedBy"] == "dev1"
            with pytest.raises(RelayError) as lost:
                await admin.messages.claim(offer.id, "peer")
            assert lost.value.error == "message already claimed by dev1"

            # A task from assignment to done.
            task = await admin.tasks.create("Add /health", target="dev1", body="with a test")
            listed_tasks = payload(await mcp.call_tool("list_tasks", {"target": "dev1", "status": "open"}))["tasks"]
            assert [t["id"] for t in listed_tasks] == [task.id]
            assert payload(await mcp.call_tool("claim_task", {"task_id": task.id}))["task"]["claimedBy"] == "dev1"
            payload(await mcp.call_tool("set_status", {"status": "busy"}))
            assert (await admin.agents.get("dev1")).status == "busy"
            payload(await mcp.call_tool("update_task", {"task_id": task.id, "status": "in_progress"}))
            mine = payload(await mcp.call_tool("list_tasks", {"mine": True}))["tasks"]
            assert [(t["id"], t["status"]) for t in mine] == [(task.id, "in_progress")]
            done = payload(await mcp.call_tool("update_task", {"task_id": task.id, "status": "done", "note": "shipped"}))
            assert done["task"]["status"] == "done"
            history = await admin.tasks.history(task.id)
            assert [(e.status, e.agent_id) for e in history][-1] == ("done", "dev1") and history[-1].note == "shipped"

            # Commands: one answered with a result, one failed with an error.
            prompt = await admin.commands.create("agent.prompt", source="lead", target="dev1", params={"prompt": "go"})
            test = await admin.commands.create("agent.test", source="lead", target="dev1")
            open_ids = [c["id"] for c in payload(await mcp.call_tool("my_commands", {}))["commands"]]
            assert open_ids == [prompt.id, test.id]
            accepted = payload(await mcp.call_tool("update_command", {"command_id": prompt.id, "status": "accepted"}))
            assert (accepted["command"]["status"], accepted["final"]) == ("accepted", False)
            succeeded = payload(
                await mcp.call_tool(
                    "update_command", {"command_id": prompt.id, "status": "succeeded", "result": {"summary": "done"}}
                )
            )
            assert succeeded["final"] is True
            await mcp.call_tool("update_command", {"command_id": test.id, "status": "failed", "error": "no tests"})
            assert ((await admin.commands.get(prompt.id)).status, (await admin.commands.get(prompt.id)).result) == (
                "succeeded",
                {"summary": "done"},
            )
            failed = await admin.commands.get(test.id)
            assert (failed.status, failed.error) == ("failed", "no tests")
            assert payload(await mcp.call_tool("my_commands", {}))["commands"] == []
            again = await mcp.call_tool("update_command", {"command_id": test.id, "status": "succeeded"})
            assert error_text(again) == "relay answered 409: command is already failed; a finished command cannot change"

            # The relay's refusals come back as tool errors with its text.
            await admin.agents.register("gone", status="offline")
            refused = await mcp.call_tool("send_message", {"to": "gone", "body": "hello?"})
            assert error_text(refused) == 'relay answered 422: agent "gone" is offline'
            # Another agent's claim holds.
            foreign = await admin.tasks.create("not mine")
            await admin.tasks.claim(foreign.id, "peer")
            taken = await mcp.call_tool("claim_task", {"task_id": foreign.id})
            assert error_text(taken) == "relay answered 409: task already claimed by peer"

            entry = payload(await mcp.call_tool("post_activity", {"title": "Health check shipped", "body": "PR 12"}))
            assert entry["activity"]["agentId"] == "dev1"
            assert (await admin.activity.list(agent_id="dev1"))[0].title == "Health check shipped"

        # The session ended: the agent is marked offline.
        assert (await admin.agents.get("dev1")).status == "offline"


async def test_an_existing_card_is_adopted_unchanged(url: str) -> None:
    async with AsyncClient(url, ADMIN_TOKEN) as admin:
        await admin.orchestrators.register("host1", "host1.local")
        await admin.agents.register(
            "dev1", orchestrator_id="host1", tags=["spawned"], meta={"runnerManaged": True}, status="offline"
        )
        async with agent_session(url, ADMIN_TOKEN) as mcp:
            me = payload(await mcp.call_tool("whoami", {}))["agent"]
            # Online again, but the orchestrator's card is kept as it was (tags, meta, orchestrator).
            assert (me["status"], me["tags"], me["meta"], me["orchestratorId"]) == (
                "online",
                ["spawned"],
                {"runnerManaged": True},
                "host1",
            )


async def test_streamable_http(url: str) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relay_client.cli",
        "mcp",
        "--http",
        "--port",
        str(port),
        env={**server_env(url, ADMIN_TOKEN), "AGENT_RELAY_AGENT_ID": "web1"},
        cwd=str(ROOT),
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        endpoint = f"http://127.0.0.1:{port}/mcp"
        async with httpx.AsyncClient() as http, asyncio.timeout(30):
            while True:
                assert process.returncode is None, (await process.communicate())[1]
                try:
                    await http.get(endpoint, timeout=1)
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
        async with streamable_http_client(endpoint) as (read, write, _), ClientSession(read, write) as session:
            await session.initialize()
            assert payload(await session.call_tool("whoami", {}))["agent"]["id"] == "web1"
    finally:
        process.terminate()
        await process.wait()
    async with AsyncClient(url, ADMIN_TOKEN) as admin:
        assert (await admin.agents.get("web1")).status == "offline"
