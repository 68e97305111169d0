"""The shim every managed agent runs under (in its tmux pane, or as the orchestrator's child).

    python launcher.py --env-file F --pid-file P --exit-file X [--stdin-fifo Q] -- ARGV...

Why a shim rather than starting the agent directly:
- **Environment.** A tmux pane inherits the tmux server's global environment, which is whatever
  the first client had — possibly the orchestrator's own relay token. The launcher gives the agent
  exactly the environment the orchestrator wrote to `--env-file` (0600), which it deletes as soon as
  it has read it, so the agent's token never appears in a command line (`ps`) or stays on disk.
- **How it ended.** It waits for the agent and writes `{exitCode, signal, endedAt}` to `--exit-file`,
  which is what the orchestrator reports ("exited with code 1", "killed by SIGKILL"); tmux would
  otherwise just close the pane.
- **Which pid.** It writes the agent's pid and start time to `--pid-file`, the pid the orchestrator
  reports, signals and watches (the start time tells a reused pid apart).
- **Prompts without a terminal.** Without tmux, `--stdin-fifo` becomes the agent's stdin (opened
  read-write, so it never sees end-of-file); the orchestrator "types" by writing to it.

It forwards SIGTERM, SIGINT and SIGHUP to the agent and exits with the agent's status. It imports
only the standard library, so it runs by path under any Python 3 interpreter.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except OSError:
        return None
    # Field 2 (comm) may hold spaces and parentheses: the fields after it start past the last ')'.
    fields = raw[raw.rfind(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def write_json(path: str, value: dict[str, Any]) -> None:
    """Atomically (write, then rename), so a reader never sees half a file."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(value, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _parse(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    if "--" not in argv:
        raise SystemExit("usage: launcher.py --env-file F --pid-file P --exit-file X [--stdin-fifo Q] -- ARGV...")
    cut = argv.index("--")
    opts, command = argv[:cut], argv[cut + 1 :]
    if len(opts) % 2 or not command:
        raise SystemExit("launcher.py: options come in pairs and a command is required")
    return {opts[i].lstrip("-"): opts[i + 1] for i in range(0, len(opts), 2)}, command


def main(argv: list[str]) -> int:
    opts, command = _parse(argv)
    with open(opts["env-file"]) as f:
        env = json.load(f)
    os.unlink(opts["env-file"])
    stdin: int | None = None
    if "stdin-fifo" in opts:
        stdin = os.open(opts["stdin-fifo"], os.O_RDWR)
    try:
        child = subprocess.Popen(command, env=env, stdin=stdin)  # noqa: S603 - the orchestrator's own argv
    except OSError as exc:
        write_json(opts["exit-file"], {"exitCode": 127, "signal": None, "error": str(exc), "endedAt": _ms()})
        return 127
    for sig in FORWARDED:
        signal.signal(sig, lambda signum, _frame: _forward(child, signum))
    write_json(opts["pid-file"], {"pid": child.pid, "startTime": start_time(child.pid), "launcherPid": os.getpid()})
    code = child.wait()
    write_json(
        opts["exit-file"],
        {"exitCode": code if code >= 0 else None, "signal": -code if code < 0 else None, "endedAt": _ms()},
    )
    return code if code >= 0 else 128 - code


def _forward(child: subprocess.Popen[bytes], signum: int) -> None:
    if child.poll() is None:
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass


def _ms() -> int:
    return int(time.time() * 1000)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
