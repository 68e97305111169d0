"""The Litestar application factory. API nodes are stateless: everything lives in Redis."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import uuid
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, Router, get
from litestar.config.cors import CORSConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from relay_api.auth import GUARD_KEY, PUBLIC, Authenticator, auth_guard
from relay_api.controllers import CONTROLLERS
from relay_api.controllers.health import probe_alive
from relay_api.controllers.integrations import install_integration_auth
from relay_api.deps import provide_principal, provide_relay
from relay_api.drain import Readiness, SignalDrain
from relay_api.errors import EXCEPTION_HANDLERS, send_error, storage_down
from relay_api.metrics import HttpMetrics, MetricsController, RelayCollector, node_registry, prometheus_config
from relay_api.openapi_errors import document_errors
from relay_api.openapi_viewer import render_plugins
from relay_api.request_context import request_context
from relay_api.sse import Broker
from relay_api.strict_body import StrictBodyRequest
from relay_api.token_auth import SseLeases, TokenResolver
from relay_api.tracing import tracing_plugins
from relay_model import __version__
from relay_model.connection import STORAGE_ERRORS, EventSubscriber, connect
from relay_model.errors import RelayError
from relay_model.relay import Relay
from relay_model.scripts import ScriptGuard
from relay_model.settings import Settings

log = logging.getLogger("relay.api")

STATIC_DIR = Path(__file__).parent / "static"


@get("/healthz", name="probe:alive", opt={"scope": PUBLIC}, include_in_schema=True, tags=["system"])
async def healthz() -> dict[str, bool]:
    """Liveness: the process answers."""
    return await probe_alive()


@get("/readyz", name="probe:ready", opt={"scope": PUBLIC}, tags=["system"])
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Readiness: 503 while draining (after SIGTERM), before Redis first answered, and once Redis has
    been unreachable for longer than `AGENT_RELAY_READY_REDIS_BUDGET_S`; a shorter blip stays 200."""
    readiness: Readiness = request.app.state.readiness
    status, body = readiness.answer()
    return Response(body, status_code=status)


def auth_middleware(app: ASGIApp) -> ASGIApp:
    """Runs `auth_guard` before every /api route, on the route's declared scope.

    A middleware rather than a Litestar guard because Litestar copies the route handler object for
    every guard call (`copy(handler)`), which cost about 6 % of the CPU time of a message send.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        await auth_guard(ASGIConnection(scope, receive, send), scope["route_handler"])
        guard: ScriptGuard | None = scope["state"].get(GUARD_KEY)
        if guard is None:
            await app(scope, receive, send)
            return
        authenticator: Authenticator = scope["app"].state.authenticator
        settle = authenticator.settle
        assert settle is not None
        refused = False

        async def send_checked(message: Message) -> None:
            # An answer no script made the check for (the request was refused before its work): the
            # check first, and its refusal instead of that answer (see relay_api/auth.py).
            nonlocal refused
            if refused:
                return  # the replaced answer's body
            if message["type"] == "http.response.start" and not guard.used:
                try:
                    await settle(guard)
                except RelayError as exc:
                    refused = True
                    await send_error(send, exc.status_code, exc.message, exc.headers)
                    return
                except STORAGE_ERRORS as exc:
                    refused = True
                    await send_error(send, *storage_down(exc))
                    return
            await send(message)

        await app(scope, receive, send_checked)

    return middleware


async def _bootstrap_until_done(relay: Relay) -> None:
    # A node may start before Redis does; it serves 503s meanwhile and finishes start-up later.
    delay = 0.2
    while True:
        try:
            await relay.bootstrap()
            return
        except STORAGE_ERRORS as exc:
            log.warning("redis not ready for bootstrap (%s); retrying", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def create_served_app() -> Litestar:
    """The app `relay serve` runs: settings from the environment, and SIGTERM drains the node."""
    return create_app(handle_signals=True)


def create_app(
    settings: Settings | None = None, *, handle_signals: bool = False, span_exporter: Any = None
) -> Litestar:
    """`handle_signals`: SIGTERM drains this node (relay_api/drain.py); `span_exporter`: tests' tracing sink."""
    settings = settings or Settings.from_env()

    # Everything that holds a Redis client or an event loop is made here, at each start, so one app
    # can be started again (the tests' in-process client does, once per test).
    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        redis = connect(settings.redis_url, cluster=settings.redis_cluster)
        relay = Relay(redis, settings)
        app.state.authenticator = Authenticator(settings.admin_token)
        broker = Broker(EventSubscriber(redis), relay.events, settings.sse_client_queue, settings.sse_keepalive_s)
        broker.on_reconnect = relay.bootstrap
        app.state.relay = relay
        app.state.broker = broker
        resolver = TokenResolver(relay.tokens, settings)
        # Configured integration tokens first (they are not JWTs), each request counted like a token's.
        install_integration_auth(app.state.authenticator, settings, resolver.limit_integration)
        app.state.authenticator.add_resolver(resolver)
        app.state.authenticator.on_admin = resolver.limit_admin
        if relay.scripts.guards_ride_along:  # a single Redis: see "the token check in the work's script"
            app.state.authenticator.deferring = resolver.deferred
            app.state.authenticator.settle = resolver.settle
        app.state.sse_leases = SseLeases(
            relay.tokens, max_per_token=settings.sse_max_per_token, keepalive_s=settings.sse_keepalive_s
        )
        readiness = Readiness(redis, settings.ready_redis_budget_s, subscribed=lambda: broker.connected)
        app.state.readiness = readiness
        bootstrap = asyncio.create_task(_bootstrap_until_done(relay))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(bootstrap), timeout=2.0)
        await broker.start()
        await readiness.check()
        checker = asyncio.create_task(readiness.run(), name="relay-readiness")
        app.state.metrics = RelayCollector(broker, readiness)
        app.state.metrics_registry = node_registry(app.state.metrics)
        drain = SignalDrain(readiness, broker, settings.drain_delay_s)
        if handle_signals:
            drain.install()
        # Everything built so far (the app, its routes and signature models, the Lua sources, the
        # imported modules) lives as long as the process: move it out of the collector's generations,
        # so collections triggered by requests' short-lived objects stop walking it.
        gc.freeze()
        try:
            yield
        finally:
            drain.uninstall()
            readiness.stop()
            checker.cancel()
            bootstrap.cancel()
            # Let the cancelled tasks finish before their Redis client closes.
            await asyncio.wait([bootstrap, checker])
            await broker.stop()
            await redis.aclose()

    # Auth covers /api only; the probes and the OpenAPI schema outside it are public.
    # JSON bodies are decoded with strict types there (relay_api/strict_body.py); query strings stay lax.
    api = Router(path="/api", route_handlers=CONTROLLERS, middleware=[auth_middleware], request_class=StrictBodyRequest)
    # The dashboard shell is public; everything it shows comes from /api with the user's token.
    dashboard = create_static_files_router(path="/", directories=[STATIC_DIR], html_mode=True, name="dashboard")
    app = Litestar(
        route_handlers=[api, healthz, readyz, MetricsController, dashboard],
        plugins=tracing_plugins(settings, span_exporter),
        lifespan=[lifespan],
        dependencies={
            "relay": Provide(provide_relay, sync_to_thread=False),  # app.state.relay of the current start
            "principal": Provide(provide_principal, sync_to_thread=False),  # per request: never cached
        },
        exception_handlers=EXCEPTION_HANDLERS,
        # Logging is relay_model/logs.py's (JSON lines with request ids, set up by `relay serve`);
        # Litestar's default config would replace the root handler with its own text format at start-up.
        # Unhandled errors are logged by the relay's own handler (relay_api/errors.py).
        logging_config=None,
        request_max_body_size=settings.max_body_bytes,
        state=State(
            {
                "settings": settings,
                "node_id": uuid.uuid4().hex[:12],
            }
        ),
        openapi_config=OpenAPIConfig(
            title="Agent Relay",
            version=__version__,
            description="Control plane for AI coding agents; wire-compatible with agent-relay-server 0.10.0.",
            path="/schema",
            # Our own viewer instead of Litestar's CDN-loaded ones, so the docs render offline.
            render_plugins=render_plugins(),
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer"),
                    "relayToken": SecurityScheme(
                        type="apiKey", name="X-Agent-Relay-Token", security_scheme_in="header"
                    ),
                }
            ),
        ),
        cors_config=CORSConfig(
            allow_origins=["*"],
            allow_headers=["Authorization", "X-Agent-Relay-Token", "Content-Type", "Last-Event-ID", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        ),
        debug=False,
    )
    document_errors(app)
    # Outermost, so that the request id and the access log cover every request (unrouted ones too).
    app.asgi_handler = request_context(
        app.asgi_handler, access_log=settings.access_log, metrics=HttpMetrics(prometheus_config())
    )
    return app
