"""When a failed call is tried again, and how long to wait first.

A call is retried only when doing it twice cannot do harm:

- **Nothing was sent.** The connection could not be opened (refused, DNS, connect timeout): any
  call, a send too, is tried again, since the relay never saw it.
- **Idempotent calls** — GET, PUT, DELETE and the POSTs that are idempotent by contract
  (heartbeats, upserting registrations, claims that renew for their holder, a send or channel
  event that carries an `idempotencyKey`) — are also retried when the connection broke after the
  request went out, the read timed out, or the relay answered 503 (its storage is unavailable;
  it sends `Retry-After`).
- Anything else that may have reached the relay (a send without `idempotencyKey`, a task status
  change, a command report) is never retried blindly: the error goes to the caller.

Waits grow exponentially with jitter and are capped, and the number of attempts is bounded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

RETRY_STATUSES = frozenset({503})

# The request never left this machine: safe to send again whatever it is.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)
# The request may have been received: only idempotent calls are sent again.
MAYBE_SENT = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadTimeout, httpx.WriteTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` counts the first try; waits are `base_s * 2**n` with ±50 % jitter, at most `max_s`."""

    attempts: int = 5
    base_s: float = 0.2
    max_s: float = 3.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """The wait before try number `attempt + 1` (attempt counts from 1)."""
        if retry_after:
            try:
                return min(max(float(retry_after), 0.0), self.max_s)
            except ValueError:
                pass
        raw = min(self.base_s * 2.0 ** (attempt - 1), self.max_s)
        return raw * (0.5 + random.random())  # noqa: S311 - jitter, not security

    def should_retry(self, attempt: int, *, idempotent: bool, exc: Exception | None, status: int | None) -> bool:
        if attempt >= self.attempts:
            return False
        if exc is not None:
            if isinstance(exc, NOT_SENT):
                return True
            return idempotent and isinstance(exc, MAYBE_SENT)
        return idempotent and status in RETRY_STATUSES


NO_RETRY = RetryPolicy(attempts=1)
