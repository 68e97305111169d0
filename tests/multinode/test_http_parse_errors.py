"""A request the HTTP parser rejects (a request smuggling attempt, a malformed method) is answered in
the relay's error format — 400 `{"error": "invalid HTTP request"}` in JSON — like every other
refusal, and the node goes on serving."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.procs import ApiNode, relay_env

pytestmark = pytest.mark.multinode


@pytest.fixture(scope="module")
def node(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiNode]:
    started = ApiNode(relay_env(redis_url, ADMIN_TOKEN), tmp_path_factory.mktemp("parse") / "api.log").wait_ready()
    try:
        yield started
    finally:
        started.stop()


def _answer(port: int, raw: bytes) -> tuple[bytes, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {k.decode().lower(): v.decode() for k, _, v in (line.partition(b": ") for line in lines)}
    return status, headers, body


@pytest.mark.parametrize(
    "raw",
    [
        b"POST /api/agents HTTP/1.1\r\nHost: relay\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"G\x00ET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: relay\r\nBad Header\r\n\r\n",
    ],
    ids=["content-length-and-chunked", "nul-in-method", "header-without-colon"],
)
def test_a_request_the_parser_rejects_is_a_json_400(node: ApiNode, raw: bytes) -> None:
    status, headers, body = _answer(node.port, raw)
    assert status == b"HTTP/1.1 400 Bad Request"
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert json.loads(body) == {"error": "invalid HTTP request"}
    assert httpx.get(node.url + "/healthz").json() == {"ok": True}
