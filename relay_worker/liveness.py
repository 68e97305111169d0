"""The process side of per-worker liveness: the state file and `relay worker --check`.

The Redis side — each worker's own key, refreshed every `WORKER_HEARTBEAT_S` with a ttl of
`WORKER_ALIVE_S`, and the index `/api/health` counts — is `relay_model.maintenance`.

`relay worker --check` is the exec probe of one worker. At start the worker writes its id, pid and
host to a state file (`AGENT_RELAY_WORKER_STATE_FILE`) and touches it on every beat. The check
fails when that process is gone (same host), or when its key has expired (the worker is stuck or
cannot reach Redis while the checker can). While Redis itself is unreachable the check answers from
the file's age instead (the worker's loop still beating), so a Redis outage does not make
Kubernetes restart every worker at once.
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

from redis.exceptions import RedisError

from relay_model.maintenance import WORKER_ALIVE_S, MaintenanceStore

STATE_FILE_ENV = "AGENT_RELAY_WORKER_STATE_FILE"
CHECK_TIMEOUT_S = 3.0


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


async def check(store: MaintenanceStore, path: Path) -> CheckResult:
    try:
        state = json.loads(path.read_text())
        worker_id, pid = str(state["workerId"]), int(state["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return CheckResult(False, f"no worker state in {path} (no worker started here, or it could not write there)")
    if state.get("host") == socket.gethostname() and not _pid_running(pid):
        return CheckResult(False, f"worker {worker_id}: process {pid} is gone")
    try:
        ttl_ms = await asyncio.wait_for(store.worker_key_ttl_ms(worker_id), CHECK_TIMEOUT_S)
    except (RedisError, OSError, TimeoutError) as exc:
        age = time.time() - path.stat().st_mtime
        if age <= WORKER_ALIVE_S:
            return CheckResult(True, f"worker {worker_id}: redis unreachable ({exc}); its loop beat {age:.1f}s ago")
        return CheckResult(False, f"worker {worker_id}: redis unreachable and its loop last beat {age:.1f}s ago")
    if ttl_ms > 0:
        return CheckResult(True, f"worker {worker_id}: alive (beat {WORKER_ALIVE_S - ttl_ms / 1000:.1f}s ago)")
    return CheckResult(False, f"worker {worker_id}: no heartbeat for more than {WORKER_ALIVE_S:g}s")
