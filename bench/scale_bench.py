"""Cost that grows with the work, not with the data: hot operations on a small and on a large relay.

    python -m bench.scale_bench                       # ~2 minutes: 1k agents / 10k messages vs 100k / 1M
    python -m bench.scale_bench --agents 1000,10000 --messages 10000,100000 --append bench/RESULTS.md

For each size it starts a private redis-server (no persistence, never 6379), fills it through the
relay's own scripts — every agent registered and every message sent exactly as the API would, only
pipelined: the store methods build each call, which is recorded instead of awaited, and sent in
batches of EVALSHA — then times, in-process on the stores (no HTTP, so the figure is the data's
effect alone):

- send: a direct message to one agent;
- inbox read: 20 of an agent's messages (every agent holds the same number at both sizes);
- claim: the holder renewing its claim of one message;
- reaper pass: one full `reap_once` with nothing due (the steady state of a healthy relay).

Prints medians and p99 in µs and the ratio large / small per operation (1.0 = flat).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relay_api.embedded import EmbeddedRedis  # noqa: E402
from relay_model.agents.agents import RegisterAgentInput  # noqa: E402
from relay_model.connection import connect  # noqa: E402
from relay_model.messages.messages import SendMessageInput  # noqa: E402
from relay_model.relay import Relay, reap_once  # noqa: E402
from relay_model.settings import Settings  # noqa: E402

BATCH = 2000
TEXT = "a stored message of ordinary size " * 3


class _Recorded(Exception):
    """Raised by the recorder once a store method has built its script call."""


class Recorder:
    """Stands in for `Scripts` while a store method runs: keeps the call it would make."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Sequence[str], Sequence[Any]]] = []

    async def run(self, name: str, keys: Sequence[str], args: Sequence[Any], *, guard: Any = None) -> Any:
        assert guard is None  # the stores are called here as the admin token calls them
        self.calls.append((name, keys, args))
        raise _Recorded

    run_checked = run


async def record(store: Any, call: Callable[[], Awaitable[Any]], recorder: Recorder) -> None:
    real, store.scripts = store.scripts, recorder
    try:
        await call()
    except _Recorded:
        pass
    finally:
        store.scripts = real


async def flush_calls(relay: Relay, recorder: Recorder) -> None:
    """Send the recorded calls as pipelines of EVALSHA, a few in flight so Redis never waits for us."""
    redis = relay.redis
    shas = {name: await redis.script_load(relay.scripts.source(name)) for name in {c[0] for c in recorder.calls}}
    in_flight = asyncio.Semaphore(3)

    async def send(batch: list[tuple[str, Sequence[str], Sequence[Any]]]) -> None:
        async with in_flight:
            pipe = redis.pipeline(transaction=False)
            for name, keys, args in batch:
                pipe.evalsha(shas[name], len(keys), *keys, *args)
            for answer in await pipe.execute(raise_on_error=True):
                if isinstance(answer, list) and answer and answer[0] == "err":
                    raise RuntimeError(f"bulk write refused: {answer}")

    calls = recorder.calls
    await asyncio.gather(*(send(calls[i : i + BATCH]) for i in range(0, len(calls), BATCH)))
    recorder.calls = []


async def populate(relay: Relay, agents: int, messages: int) -> None:
    recorder = Recorder()
    for i in range(agents):
        await record(relay.agents, lambda i=i: relay.agents.register(RegisterAgentInput(id=f"a-{i}")), recorder)
        if len(recorder.calls) >= 20 * BATCH:
            await flush_calls(relay, recorder)
    await flush_calls(relay, recorder)
    for i in range(messages):
        data = SendMessageInput(from_=f"a-{(i + 1) % agents}", to=f"a-{i % agents}", body=TEXT)
        await record(relay.messages, lambda data=data: relay.messages.send_json(data), recorder)
        if len(recorder.calls) >= 20 * BATCH:
            await flush_calls(relay, recorder)
    await flush_calls(relay, recorder)


async def timed(call: Callable[[], Awaitable[Any]], n: int) -> dict[str, float]:
    for _ in range(min(50, n)):
        await call()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - t0) * 1e6)
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": q[49], "p99": q[98]}


async def measure(agents: int, messages: int, n: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="relay-scale-") as tmp:
        server = EmbeddedRedis(Path(tmp), persistent=False).start()
        redis = connect(server.url)
        try:
            relay = Relay(redis, Settings(redis_url=server.url, admin_token="scale-bench"))
            await relay.bootstrap()
            started = time.monotonic()
            await populate(relay, agents, messages)
            print(
                f"  {agents:,} agents, {messages:,} messages written in {time.monotonic() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            claimable = (await relay.messages.send(SendMessageInput(from_="a-1", to="a-2", claimable=True)))[0]
            send = SendMessageInput(from_="a-1", to="a-0", body=TEXT)
            result = {
                "send": await timed(lambda: relay.messages.send(send), n),
                "inbox read": await timed(lambda: relay.messages.inbox("a-3", since=0, limit=20), n),
                "claim": await timed(lambda: relay.messages.claim(claimable.id, "a-2", None), n),
                "reaper pass": await timed(lambda: reap_once(relay, audit=False), max(20, n // 10)),
            }
        finally:
            await redis.aclose()
            server.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", default="1000,100000", help="small,large")
    parser.add_argument("--messages", default="10000,1000000", help="small,large")
    parser.add_argument("--n", type=int, default=500, help="timed calls per operation")
    parser.add_argument("--append", type=Path, default=None, help="also append the table to this Markdown file")
    args = parser.parse_args()
    # SIGTERM (bench/run.sh's timeout) still stops the redis-server this started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    agents = [int(x) for x in args.agents.split(",")]
    messages = [int(x) for x in args.messages.split(",")]
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    # Small, large, small again: a neighbour's load (or a cold start) that hits one run shows as a
    # difference between the two small runs instead of hiding in the ratio.
    sizes = [(agents[0], messages[0]), (agents[1], messages[1]), (agents[0], messages[0])]
    first, large, second = (asyncio.run(measure(a, m, args.n)) for a, m in sizes)
    lines = [
        "",
        f"Scale (bench/scale_bench.py, in-process on the stores, {args.n} calls each): {agents[0]:,} agents and"
        f" {messages[0]:,} messages (run before and after the large one) vs {agents[1]:,} agents and"
        f" {messages[1]:,} messages; µs per call; ratio = large p50 ÷ the mean of the two small p50s.",
        "",
        "| operation | small p50 (1st / 2nd) | small p99 (1st / 2nd) | large p50 | large p99 | ratio p50 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for op in large:
        a, b, g = first[op], second[op], large[op]
        small = (a["p50"] + b["p50"]) / 2
        lines.append(
            f"| {op} | {a['p50']:.0f} / {b['p50']:.0f} | {a['p99']:.0f} / {b['p99']:.0f} | {g['p50']:.0f} |"
            f" {g['p99']:.0f} | {g['p50'] / small:.2f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.append:
        with args.append.open("a") as f:
            f.write(text)


if __name__ == "__main__":
    main()
