"""The baseline: a bare Litestar app doing what the framework and one Redis round trip cost, nothing more.

Served by uvicorn with the same settings as `relay serve`, on the same Redis client settings, so the
ratio relay/baseline measures what the relay adds on top of "HTTP request + one Redis call":

- `POST /incr`: one INCR (bench/send_bench.py's baseline).
- `POST /send`: one EVALSHA of the same shape as a message send (INCR + HSET + XADD + PUBLISH), the
  request body stored and published as it came (bench/wrk_bench.py's baseline for every one-round-trip
  route).
- `GET /hello`: no Redis at all (the baseline of `/healthz`).
- `GET /events`: a bare SSE stream fed by one Redis pub/sub subscription, each client with its own
  queue (the baseline of `/api/events` fan-out); `POST /send` publishes to it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator, AsyncIterator

from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.response import Stream

from relay_model.connection import connect

# The benchmark's own Redis; these keys are not part of the relay's keyspace.
BASELINE_KEY = "bench:baseline:counter"
SEQ_KEY, STREAM_KEY, DOC_PREFIX, CHANNEL = "bench:seq", "bench:events", "bench:msg:", "bench:channel"

# The shape of message_send.lua's write path without its routing: a counter, a record, a capped
# stream entry, one PUBLISH.
SEND_LUA = """
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', ARGV[1] .. id, 'doc', ARGV[2], 'createdAt', ARGV[3])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 10000, '*', 'd', ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[2])
return id
"""


def create_app() -> Litestar:
    redis = connect(os.environ["REDIS_URL"])
    send_script = redis.register_script(SEND_LUA)
    clients: set[asyncio.Queue[bytes]] = set()

    async def fan_out() -> None:
        pubsub = redis.pubsub()
        await pubsub.subscribe(CHANNEL)
        async for item in pubsub.listen():
            if item["type"] != "message":
                continue
            frame = b"data: " + item["data"].encode() + b"\n\n"
            for queue in clients:
                queue.put_nowait(frame)

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        task = asyncio.create_task(fan_out())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await redis.aclose()

    @post("/incr", status_code=201)
    async def incr(request: Request) -> dict[str, int]:  # type: ignore[type-arg]
        await request.body()
        return {"n": int(await redis.incr(BASELINE_KEY))}

    @post("/send", status_code=201)
    async def send(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
        body = await request.body()
        n = await send_script(keys=[SEQ_KEY, STREAM_KEY], args=[DOC_PREFIX, body, 0, CHANNEL])
        return Response(b'{"id":%d}' % int(n), media_type=MediaType.JSON, status_code=201)

    @get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    @get("/events")
    async def events() -> Stream:
        queue: asyncio.Queue[bytes] = asyncio.Queue()

        async def stream() -> AsyncGenerator[bytes, None]:
            clients.add(queue)
            try:
                yield b": connected\n\n"
                while True:
                    yield await queue.get()
            finally:
                clients.discard(queue)

        return Stream(stream(), media_type="text/event-stream")

    return Litestar(route_handlers=[incr, send, hello, events], lifespan=[lifespan], debug=False)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        "bench.baseline_app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        proxy_headers=True,
        # The relay's own protocol (httptools with head limits), so both pay the same per request.
        http="relay_api.http_limits:RelayHttpProtocol",
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
