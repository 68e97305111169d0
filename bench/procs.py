"""What the benchmarks share about the processes they measure: core pinning, CPU time, stopping."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path


def cores() -> tuple[list[int], list[int]]:
    """(server cores, load cores); both empty when the machine cannot be split or taskset is missing."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2 or not shutil.which("taskset"):
        return [], []
    return available[:1], available[1:]


def taskset(cpus: list[int]) -> list[str]:
    """The command prefix that starts a process on `cpus` (nothing when unpinned)."""
    return ["taskset", "-c", ",".join(map(str, cpus))] if cpus else []


def pin(pid: int, cpus: list[int]) -> None:
    """Move a running process (a redis-server someone else started) onto `cpus`."""
    if cpus:
        subprocess.run(["taskset", "-cp", ",".join(map(str, cpus)), str(pid)], check=True, capture_output=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (from /proc; 0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(popen: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM (a node drains), then SIGKILL if it has not exited within `timeout`."""
    if popen.poll() is None:
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=5)
