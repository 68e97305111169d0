"""The server side of `relay`: serve an API node, run a worker, or run a whole relay on one machine.

`relay serve|worker|dev` reach here from the `relay` console script (relay_client.cli) by exec;
`python -m relay_api.cli serve|worker|dev` is the same without the hand-over.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4850


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    if not os.environ.get("AGENT_RELAY_ADMIN_TOKEN"):
        print("AGENT_RELAY_ADMIN_TOKEN is not set; refusing to serve an API nobody can use", file=sys.stderr)
        return 2
    uvicorn.run(
        "relay_api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=args.access_log,
        proxy_headers=True,
        timeout_graceful_shutdown=5,
    )
    return 0


def _worker(_: argparse.Namespace) -> int:
    from relay_worker.main import run_worker

    return run_worker()


def _kept_secret(path: Path, make: Callable[[], str]) -> str:
    """A secret `relay dev` keeps in its data dir (admin token, token signing key), so it survives restarts."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = make()
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret


def _dev(args: argparse.Namespace) -> int:
    from relay_api.embedded import EmbeddedRedis, default_data_dir

    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    env = dict(os.environ)
    embedded: EmbeddedRedis | None = None
    if not env.get("REDIS_URL"):
        embedded = EmbeddedRedis(data_dir / "redis", args.redis_port).start()
        env["REDIS_URL"] = embedded.url
    env.setdefault(
        "AGENT_RELAY_ADMIN_TOKEN", _kept_secret(data_dir / "admin-token", lambda: "relay_" + secrets.token_urlsafe(24))
    )
    env.setdefault(
        "AGENT_RELAY_TOKEN_SECRET", _kept_secret(data_dir / "token-secret", lambda: secrets.token_urlsafe(48))
    )
    env.setdefault("AGENT_RELAY_DATA_DIR", str(data_dir))
    url = f"http://{args.host}:{args.port}"
    env.setdefault("AGENT_RELAY_URL", url)
    # Clients on this machine (`relay tokens list`, `relay mcp`, relay_client) find the relay here,
    # beside the admin token; a wildcard bind is reached through loopback.
    local_host = "127.0.0.1" if args.host in ("0.0.0.0", "", "::") else args.host  # noqa: S104 - compared, not bound
    if ":" in local_host:
        local_host = f"[{local_host}]"
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "url").write_text(f"http://{local_host}:{args.port}\n")
    relay = [sys.executable, "-m", "relay_api.cli"]
    procs = [
        subprocess.Popen([*relay, "serve", "--host", args.host, "--port", str(args.port)], env=env),  # noqa: S603
        subprocess.Popen([*relay, "worker"], env=env),  # noqa: S603
    ]
    print(f"Agent Relay running at {url}  (dashboard {url}/, API {url}/api, schema {url}/schema)")
    print(f"Redis: {env['REDIS_URL']}{'  (embedded, data in ' + str(data_dir / 'redis') + ')' if embedded else ''}")
    print(f"Admin token: {env['AGENT_RELAY_ADMIN_TOKEN']}")
    sys.stdout.flush()

    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while not stopping and all(p.poll() is None for p in procs):
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        if embedded:
            embedded.stop()
    return 0 if stopping else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relay", description="Agent Relay")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run one API node under uvicorn")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--access-log", action="store_true")
    serve.set_defaults(func=_serve)

    worker = sub.add_parser("worker", help="run one background worker (arq)")
    worker.set_defaults(func=_worker)

    dev = sub.add_parser("dev", help="API node + worker (+ an embedded Redis when REDIS_URL is unset)")
    dev.add_argument("--host", default=DEFAULT_HOST)
    dev.add_argument("--port", type=int, default=DEFAULT_PORT)
    dev.add_argument(
        "--data-dir", default=None, help="where the embedded Redis keeps its data (default ~/.agent-relay)"
    )
    dev.add_argument("--redis-port", type=int, default=None)
    dev.set_defaults(func=_dev)
    # `relay token|tokens` and every other client command live in relay_client.cli (the `relay`
    # console script), which hands serve/worker/dev to this module.
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
