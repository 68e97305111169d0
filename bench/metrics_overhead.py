"""Per-request cost of the observability layers, in-process (no network, no Redis).

    .venv/bin/python -m bench.metrics_overhead [--requests 20000] [--rounds 5]

Drives one trivial Litestar route through the ASGI interface with: nothing, Litestar's stock
`PrometheusMiddleware`, and the relay's outermost layer (relay_api/request_context.py: request id
plus the same HTTP metrics recorded through cached series, access log off). Reports the median CPU µs per request
of each and the difference to the bare app. Rounds alternate so a noisy neighbour hurts all alike.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from litestar import Litestar, get
from litestar.plugins.prometheus import PrometheusConfig

from relay_api.metrics import HttpMetrics, prometheus_config
from relay_api.request_context import request_context


@get("/api/x/{item:str}", sync_to_thread=False)
def route(item: str) -> dict[str, bool]:
    return {"ok": True}


def variants() -> dict[str, Any]:
    stock = PrometheusConfig(app_name="bench", prefix="bench_stock", group_path=True)
    relay = Litestar([route])
    relay.asgi_handler = request_context(relay.asgi_handler, access_log=False, metrics=HttpMetrics(prometheus_config()))
    ids_only = Litestar([route])
    ids_only.asgi_handler = request_context(ids_only.asgi_handler, access_log=False)
    return {
        "bare": Litestar([route]),
        "stock Prometheus middleware": Litestar([route], middleware=[stock.middleware]),
        "relay: request id only": ids_only,
        "relay: request id + metrics": relay,
    }


SCOPE = {
    "type": "http",
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/api/x/abc",
    "raw_path": b"/api/x/abc",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"bench"), (b"x-request-id", b"bench-1")],
    "client": ("127.0.0.1", 1),
    "server": ("bench", 80),
}


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(_: Any) -> None:
    return None


async def per_request_us(app: Any, n: int) -> float:
    # CPU time of this process: a busy neighbour slows wall time far more than it changes this.
    started = time.process_time()
    for _ in range(n):
        await app(dict(SCOPE), _receive, _send)
    return (time.process_time() - started) / n * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    apps = variants()
    for app in apps.values():
        await per_request_us(app, 500)  # warm up (route resolution caches, metric series)
    results: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(args.rounds):
        for name, app in apps.items():
            results[name].append(await per_request_us(app, args.requests))
    bare = statistics.median(results["bare"])
    for name, values in results.items():
        median = statistics.median(values)
        print(f"{name:28s} {median:7.1f} µs/request  ({median - bare:+.1f} µs)")


if __name__ == "__main__":
    asyncio.run(main())
