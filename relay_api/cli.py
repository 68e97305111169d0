"""The server side of `relay`: serve an API node, run a worker, or run a whole relay on one machine.

`relay serve|worker|dev` reach here from the `relay` console script (relay_client.cli) by exec;
`python -m relay_api.cli serve|worker|dev` is the same without the hand-over.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relay_model.settings import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4850


def _settings_or_exit() -> Settings | None:
    from relay_model.settings import Settings

    try:
        return Settings.from_env()
    except ValueError as exc:
        print(f"invalid configuration: {exc}", file=sys.stderr)
        return None


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from relay_model import logs

    if args.access_log:
        # The app factory reads its settings from the environment (also in uvicorn's worker processes).
        os.environ["AGENT_RELAY_ACCESS_LOG"] = "1"
    settings = _settings_or_exit()
    if settings is None:
        return 2
    if not settings.admin_token:
        print("AGENT_RELAY_ADMIN_TOKEN is not set; refusing to serve an API nobody can use", file=sys.stderr)
        return 2
    from relay_api.controllers.integrations import integration_scope_problem

    problem = integration_scope_problem(settings.integrations)
    if problem:
        print(f"invalid configuration: {problem}", file=sys.stderr)
        return 2
    logs.configure(settings.log_format, args.log_level.upper())
    uvicorn.run(
        "relay_api.app:create_served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        log_config=None,  # relay_model.logs formats uvicorn's lines too
        # The relay's own access log (relay_api/request_context.py) carries the request id and duration.
        access_log=False,
        proxy_headers=True,
        # httptools with head-size limits and slow-client timeouts (AGENT_RELAY_MAX_HEADER_BYTES & co).
        http="relay_api.http_limits:RelayHttpProtocol",
        # After the drain closed the SSE streams, what in-flight requests get before they are cut.
        timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout_s)),
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    # Replaced by `python -m relay_worker` (same pid, signals and exit code): the API package never
    # imports the worker package (an import-linter contract in pyproject.toml).
    argv = [sys.executable, "-m", "relay_worker"]
    if args.check:
        argv.append("--check")
    if args.state_file:
        argv += ["--state-file", args.state_file]
    os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter running our own worker


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
    from relay_api.embedded import EmbeddedRedis, NoRedisServer, default_data_dir
    from relay_api.supervise import Child, supervise

    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    env = dict(os.environ)
    embedded: EmbeddedRedis | None = None
    if not env.get("REDIS_URL"):
        try:
            embedded = EmbeddedRedis(data_dir / "redis", args.redis_port).start()
        except NoRedisServer as exc:
            print(exc, file=sys.stderr)
            return 2
        env["REDIS_URL"] = embedded.url
    env.setdefault(
        "AGENT_RELAY_ADMIN_TOKEN", _kept_secret(data_dir / "admin-token", lambda: "relay_" + secrets.token_urlsafe(24))
    )
    env.setdefault(
        "AGENT_RELAY_TOKEN_SECRET", _kept_secret(data_dir / "token-secret", lambda: secrets.token_urlsafe(48))
    )
    env.setdefault("AGENT_RELAY_DATA_DIR", str(data_dir))
    env.setdefault("AGENT_RELAY_LOG_FORMAT", "text")  # a terminal, not a log collector
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

    def start(*command: str) -> Callable[[], subprocess.Popen[bytes]]:
        return lambda: subprocess.Popen([*relay, *command], env=env)  # noqa: S603

    children = [
        Child("API node", start("serve", "--host", args.host, "--port", str(args.port))),
        Child("worker", start("worker")),
    ]
    if embedded:
        redis = embedded

        def restart_redis() -> subprocess.Popen[bytes]:
            proc = redis.start().proc
            assert proc is not None
            return proc

        children.insert(0, Child("embedded Redis", restart_redis, stop=embedded.stop))
        children[0].proc = embedded.proc
    for child in children[1 if embedded else 0 :]:
        child.start(time.monotonic())
    print(f"Agent Relay running at {url}  (dashboard {url}/, API {url}/api, schema {url}/schema)")
    print(f"Redis: {env['REDIS_URL']}{'  (embedded, data in ' + str(data_dir / 'redis') + ')' if embedded else ''}")
    print(f"Admin token: {env['AGENT_RELAY_ADMIN_TOKEN']}")
    sys.stdout.flush()
    # A child that dies is restarted; only a signal (or a child that cannot stay up) ends relay dev.
    return supervise(children)


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
    worker.add_argument(
        "--check",
        action="store_true",
        help="exit 0 if this host's worker is alive (its liveness key is fresh), 1 if not: a liveness probe",
    )
    worker.add_argument(
        "--state-file", default=None, help="the worker's state file (default $AGENT_RELAY_WORKER_STATE_FILE)"
    )
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
