"""The baseline: a bare Litestar app whose one route does one Redis round trip (INCR).

Served by uvicorn with the same settings as `relay serve`, on the same Redis client settings, so the
ratio send/baseline measures what the relay adds on top of "HTTP request + one Redis call".
"""

from __future__ import annotations

import argparse
import os

from litestar import Litestar, Request, post

from relay_model.connection import connect

# The benchmark's own Redis; this key is not part of the relay's keyspace.
BASELINE_KEY = "bench:baseline:counter"


def create_app() -> Litestar:
    redis = connect(os.environ["REDIS_URL"])

    @post("/incr", status_code=201)
    async def incr(request: Request) -> dict[str, int]:  # type: ignore[type-arg]
        await request.body()
        return {"n": int(await redis.incr(BASELINE_KEY))}

    return Litestar(route_handlers=[incr], debug=False)


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
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
