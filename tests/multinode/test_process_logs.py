"""The log lines a real `relay serve` writes: JSON objects (the default format), the access log's line
per request carrying the caller's `X-Request-ID`, and uvicorn's own lines in the same format."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, AUTH
from tests.procs import ApiNode, relay_env

pytestmark = pytest.mark.multinode


def test_served_node_logs_json_lines_with_request_ids(redis_url: str, tmp_path: Path) -> None:
    node = ApiNode(relay_env(redis_url, ADMIN_TOKEN, AGENT_RELAY_ACCESS_LOG="1"), tmp_path / "api.log").wait_ready()
    try:
        response = httpx.post(
            node.url + "/api/agents", json={"id": "logged-agent"}, headers={**AUTH, "X-Request-ID": "req-logged-1"}
        )
        assert response.status_code == 201
        assert response.headers["X-Request-ID"] == "req-logged-1"
    finally:
        node.stop()
    lines = [line for line in node.log().splitlines() if line.strip()]
    records = []
    for line in lines:
        assert line.startswith("{"), f"not a JSON log line: {line!r}\n{node.log()}"
        records.append(json.loads(line))
    access = [r for r in records if r["logger"] == "relay.access" and "/api/agents" in r["msg"]]
    assert len(access) == 1, node.log()
    assert access[0]["requestId"] == "req-logged-1"
    assert access[0]["level"] == "INFO"
    assert any(r["logger"].startswith("uvicorn") for r in records), node.log()
