"""A client that goes away while its body is read — cut off by the body timeout (408) or aborting the
upload — is no server error: `/metrics` and the access log count it as 499, never as a 500."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.procs import ApiNode, relay_env

pytestmark = pytest.mark.multinode

HEAD = (
    b"POST /api/agents HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer " + ADMIN_TOKEN.encode() + b"\r\n"
    b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
)


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _statuses(node: ApiNode) -> dict[str, float]:
    text = httpx.get(node.url + "/metrics").text
    found = re.findall(
        r'relay_http_requests_total\{[^}]*method="POST",path="/api/agents",status_code="(\d+)"\} (\S+)', text
    )
    return {status: float(count) for status, count in found}


def test_a_client_gone_mid_body_is_counted_as_499_not_500(redis_url: str, tmp_path: Path) -> None:
    env = relay_env(redis_url, ADMIN_TOKEN, AGENT_RELAY_BODY_TIMEOUT_S="0.5", AGENT_RELAY_ACCESS_LOG="1")
    node = ApiNode(env, tmp_path / "api.log").wait_ready()
    try:
        with socket.create_connection(("127.0.0.1", node.port), timeout=10) as timed_out:
            timed_out.sendall(HEAD)
            assert timed_out.recv(4096).startswith(b"HTTP/1.1 408 ")
        with socket.create_connection(("127.0.0.1", node.port), timeout=10) as aborted:
            aborted.sendall(HEAD)
        wait_until(lambda: sum(_statuses(node).values()) >= 2, what="both requests to be counted")
        assert _statuses(node) == {"499": 2.0}
    finally:
        node.stop()
    access = [json.loads(line) for line in node.log().splitlines() if '"logger":"relay.access"' in line]
    assert [a["data"]["status"] for a in access if a["data"]["path"] == "/api/agents"] == [499, 499]
