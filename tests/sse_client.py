"""A small SSE reader for tests against real server processes: every read is bounded in time."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

from tests.conftest import AUTH


@dataclass
class SSEEvent:
    id: str | None = None
    data: str | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def json(self) -> dict[str, Any]:
        assert self.data is not None
        value: dict[str, Any] = json.loads(self.data)
        return value


class SSE:
    """`async with SSE(url) as sse:` connects and returns once the server has registered the client."""

    def __init__(self, base_url: str, *, last_event_id: str | None = None, params: dict[str, str] | None = None):
        self.url = base_url + "/api/events"
        self.headers = dict(AUTH)
        if last_event_id:
            self.headers["Last-Event-ID"] = last_event_id
        self.params = params or {}
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        self.last_id: str | None = last_event_id

    async def __aenter__(self) -> SSE:
        self._cm = self.client.stream("GET", self.url, headers=self.headers, params=self.params)
        self.response = await asyncio.wait_for(self._cm.__aenter__(), 10)
        assert self.response.status_code == 200, await self.response.aread()
        # A background reader: cancelling a read of aiter_lines() itself would end the stream.
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())
        first = await self.next_block()
        assert "connected" in first.comments
        return self

    async def _read(self) -> None:
        try:
            async for line in self.response.aiter_lines():
                self._queue.put_nowait(line)
        except httpx.HTTPError:
            pass
        finally:
            self._queue.put_nowait(None)

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)
        await self._cm.__aexit__(None, None, None)
        await self.client.aclose()

    async def next_block(self, timeout: float = 10.0) -> SSEEvent:
        """The next event or comment block."""
        block = SSEEvent()
        async with asyncio.timeout(timeout):
            while True:
                line = await self._queue.get()
                if line is None:
                    raise EOFError("the server closed the stream")
                if line == "":
                    if block.data is not None or block.comments or block.id is not None:
                        return block
                    continue
                if line.startswith(":"):
                    block.comments.append(line[1:].strip())
                elif line.startswith("data:"):
                    chunk = line[5:].removeprefix(" ")
                    block.data = chunk if block.data is None else block.data + "\n" + chunk
                elif line.startswith("id:"):
                    block.id = line[3:].strip()

    async def next_event(self, timeout: float = 10.0) -> SSEEvent:
        """The next block carrying data (keep-alive comments are skipped)."""
        async with asyncio.timeout(timeout):
            while True:
                block = await self.next_block(timeout)
                if block.data is not None:
                    self.last_id = block.id
                    return block

    async def events(self, count: int, timeout: float = 10.0) -> list[SSEEvent]:
        return [await self.next_event(timeout) for _ in range(count)]

    async def quiet_for(self, seconds: float) -> list[SSEEvent]:
        """Every data block that arrives within `seconds` (expected: none)."""
        got: list[SSEEvent] = []
        try:
            async with asyncio.timeout(seconds):
                while True:
                    got.append(await self.next_event(seconds + 1))
        except TimeoutError:
            pass
        return got
