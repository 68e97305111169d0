"""Integration callbacks: task changes POSTed to the integration's `callbackUrl` by the workers.

The task scripts queue a delivery in the same script as the change (the outbox, relay_model/tasks/lua/_task_lib.lua), so
nothing is lost and an API node never waits on a receiver. A worker job (`deliver_due`) leases due
entries with a compare-and-set (so arq re-running the job, or two workers, never send one attempt
twice), POSTs them through `outbound.request` (timeout, size cap, http(s) only, no redirects) and
records every attempt.

Each request carries
    X-Agent-Relay-Event: task.created | task.updated
    X-Agent-Relay-Delivery: <delivery id>     (the same on every retry: receivers de-duplicate on it)
    X-Agent-Relay-Timestamp: <ms since epoch>
    X-Agent-Relay-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed by the secret>
Outcome: 2xx delivered; 408, 429, 5xx and network errors are retried with exponential backoff
(base * 2^(attempt-1), capped) up to the attempt limit, then `failed`; any other status (including
a 3xx, since redirects are not followed) fails at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass

import msgspec
from redis.asyncio import Redis

from relay_model import keys, outbound
from relay_model.base import Model
from relay_model.clock import now_ms
from relay_model.errors import Invalid, RelayError
from relay_model.scripts import Scripts
from relay_model.settings import Integration

log = logging.getLogger("relay.callbacks")

DELIVERY_STATUSES = ("pending", "delivered", "failed")
RETRYABLE_STATUS = frozenset({408, 429})
LIST_SCAN_BUDGET = 5000
# Seconds one `deliver_due` call keeps starting new rounds; the worker job allows this plus one request timeout.
DELIVERY_BUDGET_S = 10.0


class DeliveryAttempt(Model):
    attempt: int
    at: int
    ok: bool
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0


class Delivery(Model):
    id: int
    integration: str
    task_id: int
    event: str
    status: str
    attempts: int = 0
    next_at: int | None = None
    created_at: int = 0
    updated_at: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    attempt_log: list[DeliveryAttempt] = msgspec.field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff_ms: int = 1000
    backoff_max_ms: int = 300_000
    timeout_s: float = 10.0
    # A lease outlives the request's timeout by a wide margin, so an answer always lands in time.
    lease_ms: int = 60_000

    def delay_ms(self, attempt: int) -> int:
        return int(min(self.backoff_max_ms, self.backoff_ms * 2 ** max(0, attempt - 1)))


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


_encode = msgspec.json.Encoder().encode
_decode_list = msgspec.json.Decoder(list[Delivery]).decode


class CallbackStore:
    def __init__(self, redis: Redis, scripts: Scripts, *, event_maxlen: int) -> None:
        self.redis = redis
        self.scripts = scripts
        self.maxlen = event_maxlen

    async def lease(self, *, now: int, limit: int, lease_ms: int, token: str) -> list[list[str]]:
        rows: list[list[str]] = await self.scripts.run(
            "callback_claim", [keys.callbacks_due()], [now, limit, lease_ms, token]
        )
        return rows

    async def finish(
        self,
        delivery_id: str,
        token: str,
        outcome: str,
        attempt: DeliveryAttempt,
        next_at: int | None,
    ) -> bool:
        recorded = await self.scripts.run(
            "callback_finish",
            [
                keys.callback(delivery_id),
                keys.callback_attempts(delivery_id),
                keys.callbacks_due(),
                keys.events(keys.TASK),
            ],
            [
                now_ms(),
                delivery_id,
                token,
                outcome,
                _encode(attempt).decode(),
                next_at or "",
                attempt.status_code if attempt.status_code is not None else "",
                attempt.error or "",
                self.maxlen,
            ],
        )
        return bool(recorded)

    async def trim(self, keep: int, batch: int = 1000) -> int:
        """Forget the oldest settled deliveries beyond `keep` (pending ones always stay)."""
        return int(await self.scripts.run("callbacks_trim", [keys.callbacks_all()], [keep, batch]))

    async def deliver_due(
        self,
        integrations: tuple[Integration, ...],
        policy: RetryPolicy,
        *,
        batch: int = 10,
        budget_s: float = DELIVERY_BUDGET_S,
    ) -> int:
        """Send what is due until nothing is or the time budget is spent. Returns attempts made.

        Each round leases at most `batch` entries and sends them all at once: a round lasts at most
        one request timeout, so no leased entry waits for a free sender while its lease runs out, and
        a caller knows the longest run (`budget_s` plus one request timeout) to allow for.
        """
        by_name = {i.name: i for i in integrations}
        token = secrets.token_hex(12)
        deadline = time.monotonic() + budget_s
        made = 0
        while time.monotonic() < deadline:
            rows = await self.lease(now=now_ms(), limit=batch, lease_ms=policy.lease_ms, token=token)
            if not rows:
                break
            await asyncio.gather(*(self._send(row, by_name, policy, token) for row in rows))
            made += len(rows)
        return made

    async def _send(self, row: list[str], by_name: dict[str, Integration], policy: RetryPolicy, token: str) -> None:
        delivery_id, name, event, body, attempt_no = str(row[0]), str(row[1]), str(row[2]), str(row[3]), int(row[4])
        integ = by_name.get(name)
        started = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        retry = False
        if integ is None or not integ.callback_url:
            error = "integration has no callbackUrl configured any more"
        else:
            timestamp = str(now_ms())
            payload = body.encode()
            headers = {
                "content-type": "application/json",
                "user-agent": "agent-relay-callbacks",
                "x-agent-relay-event": event,
                "x-agent-relay-delivery": delivery_id,
                "x-agent-relay-timestamp": timestamp,
                "x-agent-relay-signature": sign(integ.signing_key, timestamp, payload),
            }
            try:
                response = await outbound.request(
                    "POST",
                    integ.callback_url,
                    json_body=payload,
                    headers=headers,
                    timeout_s=policy.timeout_s,
                    max_bytes=64 * 1024,
                )
                status_code = response.status_code
                if not 200 <= status_code < 300:
                    error = f"callback answered {status_code}"
                    retry = status_code >= 500 or status_code in RETRYABLE_STATUS
            except (Invalid, outbound.BlockedDestination) as exc:
                # The URL itself is refused (scheme, host, address policy): retrying cannot help.
                error = exc.message
            except RelayError as exc:
                error = exc.message
                retry = True
        ok = error is None
        attempt = DeliveryAttempt(
            attempt=attempt_no,
            at=now_ms(),
            ok=ok,
            status_code=status_code,
            error=error,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        if ok:
            outcome, next_at = "delivered", None
        elif retry and attempt_no < policy.max_attempts:
            outcome, next_at = "retry", now_ms() + policy.delay_ms(attempt_no)
        else:
            outcome, next_at = "failed", None
        if not await self.finish(delivery_id, token, outcome, attempt, next_at):
            log.warning("callback %s: lease lost before the result was recorded", delivery_id)
        else:
            log.info("callback %s to %s attempt %d: %s", delivery_id, name, attempt_no, outcome)

    async def list(self, *, integration: str | None, status: str | None, limit: int) -> list[Delivery]:
        if integration:
            index = keys.callbacks_by("integration", integration)
        elif status:
            index = keys.callbacks_by("status", status)
        else:
            index = keys.callbacks_all()
        raws = await self.scripts.run(
            "callbacks_list", [index], [limit, status or "", integration or "", LIST_SCAN_BUDGET]
        )
        return _decode_list("[" + ",".join(raws) + "]") if raws else []
