"""An outbound call's timeout is a deadline for the whole call: an upstream that answers a byte at a
time (each read well inside httpx's per-read timeout) cannot hold an API request or a callback
delivery for longer. A compromised orchestrator chooses what its `apiUrl` serves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from relay_model import outbound
from relay_model.errors import UpstreamFailed
from relay_model.outbound import AddressPolicy

TIMEOUT_S = 0.5
TRICKLE_EVERY_S = 0.05
# The trickle ends by itself well after the deadline, so a per-read timeout alone lets the call succeed.
TRICKLE_CHUNKS = 200


@pytest.fixture
async def trickler() -> AsyncIterator[str]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(TRICKLE_CHUNKS):
                writer.write(b"1\r\n \r\n")
                await writer.drain()
                await asyncio.sleep(TRICKLE_EVERY_S)
            writer.write(b"2\r\n[]\r\n0\r\n\r\n")
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def test_a_trickling_answer_ends_at_the_deadline(trickler: str) -> None:
    with pytest.raises(UpstreamFailed, match=r"^timed out after 0\.5s$"):
        await outbound.request("GET", trickler + "/api/directories", policy=AddressPolicy(), timeout_s=TIMEOUT_S)
