"""Debian's nginx with the shipped deploy/nginx.conf in front of two real API nodes.

The SSE client and the sender go through nginx only. Mid-stream, the node holding the stream is
killed with SIGKILL; the client reconnects through nginx with `Last-Event-ID` (nginx skips the dead
node) and every message id reaches it exactly once, in order, across the reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from relay_api.embedded import free_port
from tests.conftest import ADMIN_TOKEN, AUTH
from tests.procs import ROOT, ApiNode, relay_env
from tests.tools import require_tool

pytestmark = pytest.mark.multinode

SHIPPED = ROOT / "deploy" / "nginx.conf"
MESSAGES = 60
KILL_AFTER = 20


def render(ports: list[int], listen: int) -> str:
    """The shipped config with this test's upstream ports and listen address; nothing else changes."""
    text = SHIPPED.read_text()
    for i, port in enumerate(ports, start=1):
        text, n = re.subn(rf"server api-{i}:4850\b", f"server 127.0.0.1:{port}", text)
        assert n == 1, f"deploy/nginx.conf no longer names api-{i}:4850"
    text, n = re.subn(r"listen 80;", f"listen 127.0.0.1:{listen};", text)
    assert n == 1
    return text


@contextlib.contextmanager
def nginx(tmp: Path, ports: list[int]) -> Iterator[str]:
    binary = require_tool("nginx")
    listen = free_port()
    (tmp / "relay.conf").write_text(render(ports, listen))
    temp_paths = " ".join(f"{kind}_temp_path {tmp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'} info;\n"
        + "events { worker_connections 256; }\n"
        + f"http {{ access_log {tmp / 'access.log'}; {temp_paths} include {tmp / 'relay.conf'}; }}\n"
    )
    proc = subprocess.Popen(
        [binary, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{listen}"
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proc.poll() is None, (tmp / "error.log").read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, "nginx did not come up"
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class ResumingReader:
    """An SSE client that reconnects through the load balancer with Last-Event-ID, like EventSource."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ids: list[int] = []
        self.last_event_id: str | None = None
        self.connections = 0
        self.connected = asyncio.Event()

    async def run(self, want: int) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as client:
            while len(self.ids) < want:
                headers = dict(AUTH)
                if self.last_event_id:
                    headers["Last-Event-ID"] = self.last_event_id
                try:
                    async with client.stream(
                        "GET", self.url + "/api/events", headers=headers, params={"types": "message.created"}
                    ) as response:
                        assert response.status_code == 200, await response.aread()
                        self.connections += 1
                        await self._read(response, want)
                except (httpx.HTTPError, OSError):
                    pass  # the node went away mid-stream: reconnect
                await asyncio.sleep(0.2)

    async def _read(self, response: httpx.Response, want: int) -> None:
        event_id = data = None
        async for line in response.aiter_lines():
            if line.startswith(": connected"):
                self.connected.set()
            elif line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif line == "" and data is not None:
                self.ids.append(json.loads(data)["data"]["message"]["id"])
                self.last_event_id = event_id
                event_id = data = None
                if len(self.ids) >= want:
                    return


def send(url: str, n: int) -> int:
    """Send message `n` through nginx; a request lost with a dying node is retried with the same key."""
    body = {"from": "ops", "to": "dst", "body": f"m{n}", "idempotencyKey": f"nginx-test-{n}"}
    for _ in range(20):
        with contextlib.suppress(httpx.HTTPError):
            r = httpx.post(url + "/api/messages", json=body, headers=AUTH, timeout=5)
            if r.status_code in (200, 201):
                message_id: int = r.json()["id"]
                return message_id
        time.sleep(0.1)
    raise AssertionError(f"message {n} could not be sent")


async def test_a_node_killed_mid_stream_behind_nginx_loses_and_repeats_nothing(
    redis_url: str, tmp_path: Path
) -> None:
    env = relay_env(redis_url, ADMIN_TOKEN, AGENT_RELAY_SSE_KEEPALIVE_S="0.5")
    nodes = [ApiNode(env, tmp_path / f"api-{i}.log").wait_ready() for i in range(2)]
    try:
        with nginx(tmp_path, [n.port for n in nodes]) as lb:
            httpx.post(lb + "/api/agents", json={"id": "dst"}, headers=AUTH, timeout=10).raise_for_status()
            reader = ResumingReader(lb)
            reading = asyncio.create_task(reader.run(MESSAGES))
            await asyncio.wait_for(reader.connected.wait(), 10)
            sent: list[int] = []
            for n in range(MESSAGES):
                if n == KILL_AFTER:
                    while len(reader.ids) < KILL_AFTER:  # the stream is live and has delivered
                        await asyncio.sleep(0.02)
                    holders = [
                        node
                        for node in nodes
                        if httpx.get(node.url + "/api/health", timeout=5).json()["sse"]["clients"] == 1
                    ]
                    assert len(holders) == 1, "exactly one node holds the stream"
                    holders[0].kill()
                sent.append(await asyncio.to_thread(send, lb, n))
            await asyncio.wait_for(reading, 30)
            assert reader.connections >= 2, "the client never had to reconnect"
            assert reader.ids == sent  # every id exactly once, in order
            assert len(set(sent)) == MESSAGES
    finally:
        for node in nodes:
            node.stop()
