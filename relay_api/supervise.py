"""`relay dev`'s supervisor: keep the API node, the worker (and the embedded Redis) running.

A child that exits while `relay dev` is not stopping is started again after a delay (1 s doubling
to 30 s; a child that stayed up `STABLE_S` starts over at 1 s), so one crashed or killed process
never takes the others down with it. A child that dies within `STABLE_S` of each of
`GIVE_UP_AFTER` starts in a row is broken (a port in use, a bad configuration), not unlucky:
`relay dev` then stops everything and exits 1 rather than retrying forever.

Neither the API node nor the worker exits because Redis went away (they wait for it and carry
on), so a Redis outage restarts nothing; when the embedded Redis itself dies it is restarted on the
same port and data dir, and the others reconnect by themselves.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, Final

RESTART_FIRST_S: Final = 1.0
RESTART_MAX_S: Final = 30.0
STABLE_S: Final = 30.0
GIVE_UP_AFTER: Final = 5
STOP_TIMEOUT_S: Final = 15.0


def _say(line: str) -> None:
    print(f"relay dev: {line}", file=sys.stderr, flush=True)


class Child:
    def __init__(self, name: str, start: Callable[[], subprocess.Popen[Any]], stop: Callable[[], None] | None = None):
        self.name = name
        self._start = start
        self._stop = stop
        self.proc: subprocess.Popen[Any] | None = None
        self.started_at = 0.0
        self.quick_deaths = 0
        self.restart_at: float | None = None
        self.restarts = 0

    def start(self, now: float) -> None:
        self.started_at = now
        self.restart_at = None
        try:
            self.proc = self._start()
        except (OSError, RuntimeError) as exc:
            self.proc = None
            _say(f"{self.name} could not start: {exc}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tend(self, now: float) -> bool:
        """Restart when due; False when this child keeps dying and should not be tried again."""
        if self.alive():
            if now - self.started_at >= STABLE_S:
                self.quick_deaths = 0
            return True
        if self.restart_at is None:
            code = self.proc.returncode if self.proc is not None else None
            self.quick_deaths = self.quick_deaths + 1 if now - self.started_at < STABLE_S else 1
            if self.quick_deaths >= GIVE_UP_AFTER:
                _say(f"{self.name} died {self.quick_deaths} times in a row, each within {STABLE_S:g} s; giving up")
                return False
            delay = min(RESTART_MAX_S, RESTART_FIRST_S * 2 ** (self.quick_deaths - 1))
            self.restart_at = now + delay
            _say(f"{self.name} exited (code {code}); restarting it in {delay:g} s")
        elif now >= self.restart_at:
            self.restarts += 1
            self.start(now)
            if self.alive():
                _say(f"{self.name} restarted")
        return True

    def terminate(self) -> None:
        """Ask the process to stop (SIGTERM); `wait` collects it."""
        if self._stop is None and self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self) -> None:
        if self._stop is not None:
            self._stop()
            return
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def supervise(children: list[Child], *, tick_s: float = 0.2) -> int:
    """Run until SIGTERM/SIGINT (exit 0) or a child that cannot be kept up (exit 1).

    `children` are already started, in start order. At the end every process is asked to stop at
    once (they drain in parallel) and collected in reverse order, so the embedded Redis, started
    first and stopped by its own `stop`, goes last.
    """
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    healthy = True
    try:
        while not stopping and healthy:
            now = time.monotonic()
            healthy = all([child.tend(now) for child in children])  # every child tended each tick
            time.sleep(tick_s)
    finally:
        for child in children:
            child.terminate()
        for child in reversed(children):
            child.wait()
    return 0 if healthy else 1
