"""Readiness and graceful shutdown of an API node.

**Readiness** (`/readyz`) answers from state kept by a background check, never from a request-time
Redis call: a probe must answer at once even while Redis hangs. The check pings Redis every second
and looks at this node's event subscription (a node without it would hold SSE clients that hear
nothing live)
(at most one second each); the node stays ready while Redis has been failing for less than
`AGENT_RELAY_READY_REDIS_BUDGET_S`, so one lost PING or a Redis fail-over does not take every API
pod out of the Service at the same moment (requests meanwhile answer 503 + `Retry-After` by
themselves). It is not ready before Redis answered once, and never again once draining.

**Drain** on SIGTERM (what Kubernetes sends after the preStop hook):
1. readiness answers 503 `draining` at once, so load balancers that probe stop sending new work;
2. for `AGENT_RELAY_DRAIN_DELAY_S` the node keeps serving normally (load balancers that only learn
   from probes need a probe period or two; in Kubernetes the preStop sleep already covered that);
3. every SSE stream ends cleanly (a complete response, no error): clients reconnect — to another node,
   as this one is out of rotation — with `Last-Event-ID` and miss nothing; a stream opened from
   here on ends right after it starts;
4. uvicorn stops accepting connections and gives in-flight requests `AGENT_RELAY_SHUTDOWN_TIMEOUT_S`.

uvicorn owns the process's signal handlers, so the drain wraps them: `SignalDrain.install` (run from
the app's lifespan, only when `relay serve` asked for it) puts its own handler in front of uvicorn's
and hands the signal on once the streams are closed. SIGINT (Ctrl-C) skips the delay. A second
signal goes straight to uvicorn.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from redis.asyncio import Redis

from relay_api.sse import Broker
from relay_model.connection import STORAGE_ERRORS

log = logging.getLogger("relay.api.drain")

PING_TIMEOUT_S = 1.0
SUBSCRIPTION_DOWN = "event subscription down"
SignalHandler = Callable[[int, FrameType | None], Any]


class Readiness:
    def __init__(
        self,
        redis: Redis,
        budget_s: float,
        *,
        subscribed: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        # This node's event subscription: without it its SSE clients would hear nothing live.
        self.subscribed = subscribed
        self.budget_s = budget_s
        # Check several times per budget, so a small budget (tests, impatient operators) is honoured.
        self.interval_s = min(1.0, budget_s / 4)
        self.clock = clock
        self.draining = False
        self.stopped = False
        self.reached = False
        self.failing_since: float | None = None
        self.last_error = "not reached yet"

    def record(self, error: str | None) -> None:
        if error is None:
            self.reached = True
            self.failing_since = None
        else:
            self.last_error = error
            if self.failing_since is None:
                self.failing_since = self.clock()

    async def check(self) -> None:
        # `asyncio.timeout`, not `wait_for`: on 3.11 `wait_for` can swallow a cancellation that lands
        # as the PING completes, and the loop below would then never stop.
        try:
            async with asyncio.timeout(PING_TIMEOUT_S):
                await self.redis.ping()
        except STORAGE_ERRORS as exc:
            self.record(str(exc) or type(exc).__name__)
        else:
            self.record(None if self.subscribed() else SUBSCRIPTION_DOWN)

    async def run(self) -> None:
        while not self.stopped:
            await self.check()
            await asyncio.sleep(self.interval_s)

    def stop(self) -> None:
        self.stopped = True

    def answer(self) -> tuple[int, dict[str, Any]]:
        """(status, body) for `/readyz`."""
        if self.draining:
            return 503, {"ok": False, "error": "draining"}
        if not self.reached:
            return 503, {"ok": False, "error": "storage unavailable", "redis": self.last_error}
        if self.failing_since is not None:
            failing = self.clock() - self.failing_since
            if failing >= self.budget_s:
                if self.last_error == SUBSCRIPTION_DOWN:  # Redis answers; this node's subscription does not
                    return 503, {"ok": False, "error": SUBSCRIPTION_DOWN}
                return 503, {"ok": False, "error": "storage unavailable", "redis": self.last_error}
            return 200, {"ok": True, "redis": f"failing for {failing:.1f}s of a {self.budget_s:g}s budget"}
        return 200, {"ok": True}


class SignalDrain:
    def __init__(self, readiness: Readiness, broker: Broker, delay_s: float) -> None:
        self.readiness = readiness
        self.broker = broker
        self.delay_s = delay_s
        self.started = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[int, SignalHandler] = {}
        self._task: asyncio.Task[None] | None = None

    def install(self) -> bool:
        """Wrap the current SIGTERM/SIGINT handlers (uvicorn's). False when signals cannot be handled here."""
        if threading.current_thread() is not threading.main_thread():
            return False
        self._loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)
            if callable(previous):
                self._previous[sig] = previous
                signal.signal(sig, self._on_signal)
        return bool(self._previous)

    def uninstall(self) -> None:
        for sig, previous in self._previous.items():
            if signal.getsignal(sig) == self._on_signal:
                signal.signal(sig, previous)
        self._previous.clear()
        if self._task is not None:
            self._task.cancel()

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        previous = self._previous.get(sig)
        if self.started or self._loop is None:
            # A second signal: no more waiting.
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self.broker.close_all)
            if previous is not None:
                previous(sig, frame)
            return
        self.started = True
        self.readiness.draining = True
        delay = self.delay_s if sig == signal.SIGTERM else 0.0
        self._loop.call_soon_threadsafe(self._start, sig, frame, previous, delay)

    def _start(self, sig: int, frame: FrameType | None, previous: SignalHandler | None, delay: float) -> None:
        self._task = asyncio.get_running_loop().create_task(self._drain(sig, frame, previous, delay))

    async def _drain(self, sig: int, frame: FrameType | None, previous: SignalHandler | None, delay: float) -> None:
        log.info(
            "draining: %s received; not ready, serving %.1fs more, then closing %d SSE stream(s)",
            signal.Signals(sig).name,
            delay,
            len(self.broker.clients),
        )
        if delay:
            await asyncio.sleep(delay)
        self.broker.close_all()
        if previous is not None:
            previous(sig, frame)
