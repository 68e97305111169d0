"""Waiting for a condition instead of sleeping: poll a probe until it returns something truthy.

The bounds are generous (these are not timing tests); on a timeout the error names what was awaited
and, with `logs`, the tail of each process's log, so a failure under load says where it got stuck.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol, TypeVar

T = TypeVar("T")


class HasLog(Protocol):
    @property
    def log_path(self) -> object: ...

    def log(self) -> str: ...


def _timed_out(what: str, logs: Iterable[HasLog]) -> AssertionError:
    tails = "".join(f"\n--- {getattr(p.log_path, 'name', p.log_path)}\n{p.log()[-4000:]}" for p in logs)
    return AssertionError(f"timed out waiting for {what}{tails}")


def wait_until(
    probe: Callable[[], T],
    what: str = "condition",
    *,
    timeout: float = 30.0,
    every: float = 0.05,
    logs: Iterable[HasLog] = (),
) -> T:
    """The probe's first truthy value, polled every `every` seconds for up to `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise _timed_out(what, logs)
        time.sleep(every)


async def wait_until_async(
    probe: Callable[[], Awaitable[T]],
    what: str = "condition",
    *,
    timeout: float = 30.0,
    every: float = 0.05,
    logs: Iterable[HasLog] = (),
) -> T:
    """`wait_until` for an async probe, without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise _timed_out(what, logs)
        await asyncio.sleep(every)
