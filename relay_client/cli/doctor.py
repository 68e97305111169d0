"""`relay doctor`: is the relay reachable, is the token good, is the background work running, and
what to do when not.

Checks, in order (a relay that cannot be reached skips the rest): the URL, the versions, the token
(decoding an API token's claims, without verifying them, to show role, subject and expiry), Redis,
workers alive, the reaper's lag, clock skew between this machine and the relay, the event stream.
Exit 1 when a check fails; warnings do not fail it.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import asdict, dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import click
import httpx
import msgspec

from relay_client import NO_RETRY, Client, RelayError
from relay_client.cli.common import client, emit, options, out, span
from relay_client.models import Health
from relay_client.wire import version

# A clock further off than this makes heartbeat ages, claim expiries and ttl judged wrongly.
SKEW_WARN_MS = 2000
EXPIRY_WARN_S = 7 * 86400


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail | skip
    detail: str
    fix: str | None = None


def _claims(token: str) -> dict[str, Any] | None:
    """An API token's JWT claims, unverified (the relay verifies; this only informs)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(raw)
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def check_url(relay: Client) -> Check:
    source = relay.target.url_source
    try:
        started = time.time()
        response = relay._http.get("/healthz", timeout=5.0)
        rtt_ms = (time.time() - started) * 1000
    except httpx.HTTPError as exc:
        return Check(
            "relay",
            "fail",
            f"cannot reach {relay.url} (from {source}): {exc}",
            "start it (`relay dev`, or `relay serve` + `relay worker`), or point AGENT_RELAY_URL / --url at it",
        )
    if response.status_code != 200:
        return Check("relay", "fail", f"{relay.url}/healthz answered {response.status_code}", "is this URL a relay?")
    return Check("relay", "ok", f"{relay.url} answers ({rtt_ms:.0f} ms; URL from {source})")


def check_token(relay: Client) -> Check:
    if not relay.token:
        return Check(
            "token",
            "fail",
            "no token",
            "set AGENT_RELAY_TOKEN (an API token) or AGENT_RELAY_ADMIN_TOKEN, pass --token, "
            "or run `relay dev` here so its admin token is found",
        )
    source = relay.target.token_source
    try:
        relay.agents.list(kind="system")
    except RelayError as exc:
        fix = (
            "the token was revoked or has expired: issue a new one (`relay tokens create`)"
            if exc.status == 401 and exc.error in ("token revoked", "token expired")
            else "check the token; an admin can issue one with `relay tokens create --role ...`"
        )
        return Check("token", "fail", f"refused ({exc.status} {exc.error}; token from {source})", fix)
    claims = _claims(relay.token)
    if claims is None:
        return Check("token", "ok", f"accepted (the admin token; from {source})")
    expires = claims.get("exp")
    detail = f"accepted: role {claims.get('role')}, sub {claims.get('sub')} (from {source})"
    if isinstance(expires, int | float):
        left = expires - time.time()
        detail += f", expires in {span(left)}"
        if left < EXPIRY_WARN_S:
            return Check("token", "warn", detail, "issue a fresh token before this one expires")
    return Check("token", "ok", detail)


def _server_now_ms(health: Health, response: httpx.Response) -> int | None:
    # The reaper status is stamped by the node's clock at answer time (lastRunAt + agoMs), to the ms;
    # without a pass yet, the HTTP Date header (to the second).
    if health.reaper is not None and health.reaper.ago_ms > 0:
        return health.reaper.last_run_at + health.reaper.ago_ms
    date = response.headers.get("date")
    if not date:
        return None
    return int(parsedate_to_datetime(date).timestamp() * 1000)


def check_health(relay: Client) -> list[Check]:
    started = time.time() * 1000
    response = relay._http.get("/api/health", timeout=10.0)
    finished = time.time() * 1000
    try:
        health = msgspec.json.decode(response.content, type=Health)
    except msgspec.DecodeError:
        return [Check("health", "fail", f"/api/health answered {response.status_code}: {response.text[:200]}")]
    checks: list[Check] = []
    ours = version()
    same = health.version.split(".")[:2] == ours.split(".")[:2]
    checks.append(
        Check(
            "version",
            "ok" if same else "warn",
            f"relay {health.version} on node {health.node}; this client {ours}",
            None if same else "upgrade the client or the relay so their versions match",
        )
    )
    if not health.ok or not health.redis.get("ok"):
        error = health.redis.get("error") or health.error or "unavailable"
        checks.append(
            Check(
                "redis",
                "fail",
                f"the relay cannot use Redis: {error}",
                "check REDIS_URL on the API nodes and that Redis runs",
            )
        )
        return checks
    checks.append(Check("redis", "ok", f"reachable ({health.counts.get('agents', 0)} agents)"))
    workers = health.workers
    if workers is None or workers.alive == 0:
        checks.append(
            Check(
                "workers",
                "fail",
                "no worker has heartbeat in the last 30 s: nothing reaps, expires, schedules or delivers",
                "start `relay worker` (`relay dev` runs one) next to the API nodes, with the same REDIS_URL",
            )
        )
    else:
        checks.append(Check("workers", "ok", f"{workers.alive} alive ({', '.join(workers.ids)})"))
    reaper = health.reaper
    if reaper is None:
        checks.append(Check("reaper", "warn", "no periodic reaper pass recorded yet", "it starts with a worker"))
    else:
        expected_ms = max(reaper.interval_s * 1000 * 3, 10_000)
        late = reaper.ago_ms > expected_ms
        checks.append(
            Check(
                "reaper",
                "warn" if late else "ok",
                f"last pass {reaper.ago_ms / 1000:.1f} s ago (every {reaper.interval_s:g} s)",
                "workers are stuck or gone: check `relay worker` logs" if late else None,
            )
        )
    server_now = _server_now_ms(health, response)
    if server_now is None:
        checks.append(Check("clock", "skip", "the relay gave no time to compare with"))
    else:
        skew = server_now - (started + finished) / 2
        coarse = health.reaper is None or health.reaper.ago_ms <= 0
        limit = SKEW_WARN_MS + (1000 if coarse else 0)  # the Date header has 1 s resolution
        off = abs(skew) > limit
        checks.append(
            Check(
                "clock",
                "warn" if off else "ok",
                f"this machine is {abs(skew) / 1000:.1f} s {'behind' if skew > 0 else 'ahead of'} the relay",
                "synchronise clocks (NTP): ages, claim expiries and ttl are judged by the relay's clock"
                if off
                else None,
            )
        )
    return checks


def check_events(relay: Client) -> Check:
    stream = relay.events(types=["doctor.none"], read_timeout=10.0)
    try:
        stream.connect()
    except RelayError as exc:
        return Check(
            "events",
            "fail",
            f"the event stream did not open: {exc.error}",
            "a proxy in front of the relay must pass text/event-stream unbuffered (nginx: proxy_buffering off)",
        )
    finally:
        stream.close()
    return Check("events", "ok", "the live event stream opens")


MARKS = {"ok": "[green]✓[/green]", "warn": "[yellow]![/yellow]", "fail": "[red]✗[/red]", "skip": "[dim]-[/dim]"}


@click.command()
@options
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check the URL, the token, Redis, workers, reaper lag, clock skew and the event stream."""
    # No retries: a diagnosis reports what it finds at once.
    relay = client(token_required=False, retry=NO_RETRY)
    checks: list[Check] = []
    reached = check_url(relay)
    checks.append(reached)
    if reached.status == "ok":
        token = check_token(relay)
        checks.append(token)
        checks.extend(check_health(relay))
        if token.status != "fail":
            checks.append(check_events(relay))
    ok = all(c.status != "fail" for c in checks)

    def human() -> None:
        for c in checks:
            out.print(f"{MARKS[c.status]} [bold]{c.name:<8}[/bold] {c.detail}", highlight=False)
            if c.fix:
                out.print(f"  [dim]→ {c.fix}[/dim]")
        out.print("all good" if ok else "[red]something needs fixing[/red]")

    emit({"ok": ok, "url": relay.url, "checks": [asdict(c) for c in checks]}, human)
    if not ok:
        ctx.exit(1)
