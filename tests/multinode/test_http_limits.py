"""Request-head limits and slow-client timeouts on a real `relay serve`, over raw sockets.

relay_api/http_limits.py: a head over AGENT_RELAY_MAX_HEADER_BYTES is a 431, a request target over
AGENT_RELAY_MAX_REQUEST_LINE_BYTES a 414, a head or body not complete in time a 408 — before auth,
with the relay's `{"error": ...}` body, and nothing of the refused request kept. The node here has
short timeouts (1.5 s for heads, 2 s for bodies, 1.5 s for a response nobody reads) so the slow
clients are cut off quickly.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, AUTH
from tests.procs import ApiNode, api_nodes, relay_env
from tests.sse_client import SSE

pytestmark = pytest.mark.multinode

HEAD_LIMIT = 16 * 1024  # the defaults
LINE_LIMIT = 8 * 1024
HEAD_TIMEOUT_S = 1.5
BODY_TIMEOUT_S = 2.0
SEND_TIMEOUT_S = 1.5


@pytest.fixture(scope="module")
def node(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiNode]:
    env = relay_env(
        redis_url,
        ADMIN_TOKEN,
        AGENT_RELAY_HEADER_TIMEOUT_S=str(HEAD_TIMEOUT_S),
        AGENT_RELAY_BODY_TIMEOUT_S=str(BODY_TIMEOUT_S),
        AGENT_RELAY_SEND_TIMEOUT_S=str(SEND_TIMEOUT_S),
        AGENT_RELAY_SSE_KEEPALIVE_S="0.3",
    )
    with api_nodes(1, env, tmp_path_factory.mktemp("limits")) as (started,):
        yield started


def exchange(node: ApiNode, request: bytes, timeout: float = 20.0) -> bytes:
    """Send `request` on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", node.port), timeout=timeout) as s:
        s.sendall(request)
        return read_all(s)


def read_all(s: socket.socket) -> bytes:
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    return data


def status_and_body(response: bytes) -> tuple[int, object]:
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body.startswith(b"{") else body


def head_of(size: int, *, path: str = "/healthz") -> bytes:
    """A GET whose head (request line, headers, blank line) is exactly `size` bytes."""
    start = f"GET {path} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\nX-Pad: ".encode()
    pad = size - len(start) - len(b"\r\n\r\n")
    assert pad > 0
    return start + b"p" * pad + b"\r\n\r\n"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_head_up_to_the_limit_is_served_and_one_byte_more_is_a_431(node: ApiNode) -> None:
    assert status_and_body(exchange(node, head_of(HEAD_LIMIT)))[0] == 200
    assert status_and_body(exchange(node, head_of(HEAD_LIMIT + 1))) == (431, {"error": "request headers too large"})
    # Many small headers count the same as one big one.
    many = b"GET /healthz HTTP/1.1\r\nHost: relay\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(3000)) + b"\r\n"
    assert status_and_body(exchange(node, many)) == (431, {"error": "request headers too large"})


def test_a_request_target_up_to_the_limit_is_served_and_longer_is_a_414(node: ApiNode) -> None:
    def target(size: int) -> bytes:
        path = "/healthz?q="
        return f"GET {path}{'q' * (size - len(path))} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n".encode()

    assert status_and_body(exchange(node, target(LINE_LIMIT)))[0] == 200
    assert status_and_body(exchange(node, target(LINE_LIMIT + 1))) == (414, {"error": "request line too long"})


def test_limits_apply_before_auth(node: ApiNode) -> None:
    """An oversized head on an authenticated route is refused without being authenticated."""
    request = head_of(HEAD_LIMIT + 100, path="/api/agents")
    assert status_and_body(exchange(node, request)) == (431, {"error": "request headers too large"})


def test_a_96_mib_header_is_refused_and_the_node_does_not_grow(node: ApiNode) -> None:
    before = rss_kib(node.popen.pid)
    with socket.create_connection(("127.0.0.1", node.port), timeout=30) as s:
        answer: list[bytes] = []
        reader = threading.Thread(target=lambda: answer.append(read_all(s)))
        reader.start()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Huge: ")
        chunk = b"h" * (1 << 20)
        sent = 0
        try:
            for _ in range(96):
                s.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the server closed the connection before taking it all: expected
        reader.join(timeout=30)
    assert answer and status_and_body(answer[0]) == (431, {"error": "request headers too large"})
    # Nothing of the header was kept: the node's memory stays where it was (it grew by 190 MiB before).
    assert rss_kib(node.popen.pid) - before < 16 * 1024
    assert httpx.get(node.url + "/healthz", timeout=5).status_code == 200


async def _slow_client(port: int, first: bytes, drip: bytes) -> tuple[bytes, bool]:
    """Send `first`, then one byte of `drip` every 0.2 s; returns the answer and whether the server closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(first)
    try:
        for byte in drip:
            await writer.drain()
            try:
                got = await asyncio.wait_for(reader.read(65536), 0.2)
            except TimeoutError:
                writer.write(bytes([byte]))
                continue
            rest = await asyncio.wait_for(reader.read(), 10)  # the answer, then the close
            return got + rest, True
        return b"", False
    except (ConnectionError, OSError):
        return b"", True
    finally:
        writer.close()


async def test_300_slow_heads_and_300_slow_bodies_are_cut_off_with_a_408(node: ApiNode) -> None:
    heads = [
        _slow_client(node.port, b"GET /api/agents HTTP/1.1\r\nHost: relay\r\n", b"X-Slow: " + b"s" * 200)
        for _ in range(300)
    ]
    post = (
        f"POST /api/messages HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
        "Content-Type: application/json\r\nContent-Length: 400\r\n\r\n"
    ).encode()
    bodies = [_slow_client(node.port, post, b'{"from":"a","to":"b","body":"' + b"x" * 300) for _ in range(300)]
    clients = asyncio.gather(*heads, *bodies)
    # Meanwhile the node serves everyone else.
    async with httpx.AsyncClient(base_url=node.url, headers=AUTH, timeout=10) as http:
        await asyncio.sleep(0.5)
        assert (await http.get("/api/agents")).status_code == 200
    results = await asyncio.wait_for(clients, 60)
    timeout = b"HTTP/1.1 408 Request Timeout\r\n"
    assert all(closed and answer.startswith(timeout) for answer, closed in results), {
        (answer[:40], closed) for answer, closed in results if not answer.startswith(timeout)
    }
    assert all(answer.endswith(b'{"error":"request timeout"}') for answer, _ in results)
    # None of the 300 slow messages was stored.
    async with httpx.AsyncClient(base_url=node.url, headers=AUTH, timeout=10) as http:
        assert (await http.get("/api/messages", params={"for": "b"})).json() == []
    assert "Traceback" not in node.log()


def test_an_idle_connection_is_closed_without_an_answer(node: ApiNode) -> None:
    with socket.create_connection(("127.0.0.1", node.port), timeout=HEAD_TIMEOUT_S + 10) as s:
        assert read_all(s) == b""


async def test_the_timeouts_leave_a_long_sse_stream_and_kept_alive_connections_alone(node: ApiNode) -> None:
    async with SSE(node.url) as sse:
        # Longer than both timeouts together: the stream still delivers keep-alives and events.
        await asyncio.sleep(HEAD_TIMEOUT_S + BODY_TIMEOUT_S + 0.5)
        async with httpx.AsyncClient(base_url=node.url, headers=AUTH, timeout=10) as http:
            created = await http.post("/api/agents", json={"id": "still-streaming"})
            assert created.status_code == 201
            # Several requests on one kept-alive connection, with pauses shorter than the keep-alive.
            for _ in range(3):
                assert (await http.get("/api/agents/still-streaming")).status_code == 200
                await asyncio.sleep(1.0)
        event = await sse.next_event(timeout=10)
        assert event.json["subject"] == "still-streaming"


def large_history(node: ApiNode, recipient: str, count: int) -> tuple[bytes, int]:
    """`count` messages of 60 KB to `recipient`; the raw request for their history page, and its size."""
    with httpx.Client(base_url=node.url, headers=AUTH, timeout=10) as http:
        for i in range(count):
            sent = http.post("/api/messages", json={"from": "ops", "to": recipient, "body": f"{i:04d}" + "x" * 60_000})
            assert sent.status_code == 201, sent.text
        full = http.get("/api/messages", params={"to": recipient, "limit": count})
        assert full.status_code == 200 and len(full.json()) == count
    request = (
        f"GET /api/messages?to={recipient}&limit={count} HTTP/1.1\r\nHost: relay\r\n"
        f"Authorization: Bearer {ADMIN_TOKEN}\r\nConnection: close\r\n\r\n"
    ).encode()
    return request, len(full.content)


def read_until_cut(s: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass  # the abort's RST
    return data


def test_a_client_that_reads_none_of_a_large_response_is_cut_off(node: ApiNode) -> None:
    # 9 MB: far more than the kernel's send and receive queues hold, so the node's writes pause.
    request, size = large_history(node, "stall-reader", 150)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(10)
        s.connect(("127.0.0.1", node.port))
        s.sendall(request)
        time.sleep(SEND_TIMEOUT_S + 2.5)  # read nothing
        got = read_until_cut(s)
    # What the queues held arrived, then the connection ended: the rest was dropped, not kept.
    assert 0 < len(got) < size / 2, (len(got), size)
    assert httpx.get(node.url + "/healthz", timeout=5).status_code == 200


def test_a_slow_reader_that_keeps_reading_gets_the_whole_response(node: ApiNode) -> None:
    request, size = large_history(node, "slow-reader", 50)
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as s:
        s.sendall(request)
        data = b""
        # 256 KB per 0.4 s: the node's writes pause again and again, never for SEND_TIMEOUT_S at once.
        while chunk := s.recv(256 * 1024):
            data += chunk
            if len(data) // (256 * 1024) > (len(data) - len(chunk)) // (256 * 1024):
                time.sleep(0.4)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and len(body) == size
