"""Property-based API testing: schemathesis against the OpenAPI schema a real `relay serve` serves.

Every operation but the infinite SSE stream is exercised with the admin token (bounded examples,
deterministic generation so CI is repeatable). Passing means: no 5xx for any input, and every
documented response matches its schema (including the `{"error": …}` shape of failures).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import ADMIN_TOKEN
from tests.procs import ApiNode, api_nodes, relay_env
from tests.security.conftest import TOKEN_SECRET

pytestmark = pytest.mark.multinode

MAX_EXAMPLES = "10"


@pytest.fixture
def node(redis: Redis, redis_url: str, tmp_path: Path) -> Iterator[ApiNode]:
    env = relay_env(redis_url, ADMIN_TOKEN, AGENT_RELAY_TOKEN_SECRET=TOKEN_SECRET)
    with api_nodes(1, env, tmp_path) as nodes:
        yield nodes[0]


def _schemathesis() -> list[str]:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("schemathesis is not installed (it is in the test extra of pyproject.toml)")
    return [found]


def test_schema_fuzzing_finds_no_server_errors_and_no_schema_violations(node: ApiNode, tmp_path: Path) -> None:
    schema = httpx.get(node.url + "/schema/openapi.json", timeout=10).json()
    schema_path = tmp_path / "openapi.json"
    schema_path.write_text(json.dumps(schema))
    done = subprocess.run(
        [
            *_schemathesis(),
            "run",
            str(schema_path),
            "--url",
            node.url,
            "--header",
            f"Authorization: Bearer {ADMIN_TOKEN}",
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance",
            "--exclude-path",
            "/api/events",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            MAX_EXAMPLES,
            "--generation-deterministic",
            "--request-timeout",
            "10",
            "--no-color",
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,  # schemathesis keeps a cache in its working directory
    )
    report = done.stdout[-20000:] + done.stderr[-4000:]
    assert done.returncode == 0, f"schemathesis found problems:\n{report}\n--- server log ---\n{node.log()[-4000:]}"
