"""Per-worker liveness: each worker refreshes a key of its own; `relay worker --check` reads it.

Every `HEARTBEAT_S` a worker's own event loop (not a queued job, which any replica could pick up)
sets `relay:{sys}:worker:<id>` with a ttl of `ALIVE_S` and scores itself in the `relay:{sys}:workers`
index, in one MULTI (both keys share the `{sys}` slot). A worker that dies — killed, or stuck so
that its loop no longer runs — stops refreshing: its key expires and `/api/health` stops counting it
within `ALIVE_S`; a clean stop removes both at once.

`relay worker --check` is the exec probe of one worker. The worker writes its id and pid to a state
file (`AGENT_RELAY_WORKER_STATE_FILE`) at start and touches it on every beat. The check fails when
that process is gone, or when its key has expired. While Redis itself is unreachable the check
answers from the file's age instead (the worker's loop still beating), so a Redis outage does not
make Kubernetes restart every worker at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError

from relay_model import keys
from relay_model.clock import now_ms

HEARTBEAT_S = 3.0
ALIVE_S = 10.0
# Index entries older than this are dropped (a killed worker never removes its own).
FORGET_S = 300.0
STATE_FILE_ENV = "AGENT_RELAY_WORKER_STATE_FILE"
CHECK_TIMEOUT_S = 3.0


class WorkersHealth(msgspec.Struct, kw_only=True, rename="camel"):
    """`/api/health`'s `workers`: the workers whose own key is live."""

    alive: int
    ids: list[str]
    alive_after_s: float = ALIVE_S


def state_file() -> Path:
    raw = os.environ.get(STATE_FILE_ENV, "").strip()
    return Path(raw) if raw else Path(tempfile.gettempdir()) / "agent-relay-worker.json"


def write_state(path: Path, worker_id: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"workerId": worker_id, "pid": os.getpid(), "host": socket.gethostname()}))
    tmp.replace(path)


def touch_state(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)


async def beat(redis: Redis, worker_id: str) -> None:
    now = now_ms()
    pipe = redis.pipeline(transaction=True)
    pipe.set(keys.worker_heartbeat(worker_id), now, px=int(ALIVE_S * 1000))
    pipe.zadd(keys.workers(), {worker_id: now})
    pipe.zremrangebyscore(keys.workers(), "-inf", now - int(FORGET_S * 1000))
    await pipe.execute()


async def gone(redis: Redis, worker_id: str) -> None:
    pipe = redis.pipeline(transaction=True)
    pipe.delete(keys.worker_heartbeat(worker_id))
    pipe.zrem(keys.workers(), worker_id)
    await pipe.execute()


async def alive_workers(redis: Redis) -> WorkersHealth:
    """Workers whose key is live: the index holds each one's last beat, the key lives `ALIVE_S` after it."""
    ids = await redis.zrangebyscore(keys.workers(), now_ms() - int(ALIVE_S * 1000), "+inf")
    return WorkersHealth(alive=len(ids), ids=list(ids))


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    message: str


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process with that pid: it exists
    return True


async def check(redis: Redis, path: Path) -> CheckResult:
    try:
        state = json.loads(path.read_text())
        worker_id, pid = str(state["workerId"]), int(state["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return CheckResult(False, f"no worker state in {path} (no worker started here, or it could not write there)")
    if state.get("host") == socket.gethostname() and not _pid_running(pid):
        return CheckResult(False, f"worker {worker_id}: process {pid} is gone")
    try:
        ttl_ms = await asyncio.wait_for(redis.pttl(keys.worker_heartbeat(worker_id)), CHECK_TIMEOUT_S)
    except (RedisError, OSError, TimeoutError) as exc:
        age = time.time() - path.stat().st_mtime
        if age <= ALIVE_S:
            return CheckResult(True, f"worker {worker_id}: redis unreachable ({exc}); its loop beat {age:.1f}s ago")
        return CheckResult(False, f"worker {worker_id}: redis unreachable and its loop last beat {age:.1f}s ago")
    if ttl_ms > 0:
        return CheckResult(True, f"worker {worker_id}: alive (beat {ALIVE_S - ttl_ms / 1000:.1f}s ago)")
    return CheckResult(False, f"worker {worker_id}: no heartbeat for more than {ALIVE_S:g}s")
