"""Fault injection for tests and the soak: a Redis that can be killed -9 and brought back on its port.

The server writes an append-only file fsynced on every write (`appendfsync always`), as a production
Redis with AOF does: whatever it acknowledged survives the kill, so a test can count loss exactly.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

from relay_api.embedded import free_port, redis_server_binary


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class KillableRedis:
    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.dir = data_dir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> KillableRedis:
        self.dir.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.dir),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--logfile", str(self.dir / "redis.log"),
        ]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if answers(self.port):
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited at start:\n{(self.dir / 'redis.log').read_text()[-2000:]}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not answer in time")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.kills += 1

    def restart(self) -> None:
        self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
