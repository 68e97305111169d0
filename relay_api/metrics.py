"""`GET /metrics`: Prometheus text format.

Two kinds of figures, and how to aggregate them across API pods (scrape every pod):

- **Per node** — HTTP requests (the metrics of Litestar's Prometheus plugin:
  `relay_http_requests_total`, `relay_http_request_duration_seconds` (a histogram: time to the
  response's first body chunk), `relay_http_requests_error_total` (5xx), labelled by method, route
  template — never the raw path — and status), open SSE streams, readiness, plus the Python process
  collectors. Sum these over pods.
- **Relay-wide**, read from Redis at scrape time in one round trip of O(1) reads
  (relay_model/flows/stats.py): agents by status, messages sent, events published per area, commands by
  status, callback deliveries by status, automation runs, live workers, the reaper's last pass.
  Every pod reports the same values: aggregate with `max` (or scrape one pod).

Workers expose no HTTP port; what they do shows in the relay-wide figures (reaper pass duration and
age, live workers, deliveries, runs). While Redis is unreachable the relay-wide figures are left out
and `relay_redis_up` is 0; the endpoint itself keeps answering.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from litestar import Request, Response, get
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController, PrometheusMiddleware
from litestar.types import Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from relay_api.auth import PUBLIC
from relay_api.drain import Readiness
from relay_api.sse import Broker
from relay_model.flows.stats import RelayStats, read_stats
from relay_model.relay import Relay

HTTP_PREFIX = "relay_http"


class HttpMetrics:
    """Records Litestar's Prometheus plugin metrics (its names, labels and buckets) through cached series.

    Called once per request by the outermost ASGI layer (relay_api/request_context.py) after the
    router has put the route template in the scope. Litestar's own `PrometheusMiddleware` costs ~27 µs
    per request here (a `Request` object, label dicts, four label look-ups, and the extra exception
    layer Litestar wraps around every middleware); this costs ~2 µs (`bench/metrics_overhead.py`).
    """

    def __init__(self, config: PrometheusConfig) -> None:
        # The plugin's middleware owns the metric definitions; it is never called, only asked for them.
        self._plugin = PrometheusMiddleware(_never_called, config)
        self._app_name = config.app_name
        self._series: dict[tuple[str, str, int], tuple[Any, Any, Any | None]] = {}

    def _make(self, method: str, path: str, status: int) -> tuple[Any, Any, Any | None]:
        labels: dict[str, str | int | float] = {
            "method": method,
            "path": path,
            "status_code": status,
            "app_name": self._app_name,
        }
        values = [*labels.values()]
        plugin = self._plugin
        errors = plugin.requests_error_count(labels).labels(*values) if status >= 500 else None
        series = (plugin.request_count(labels).labels(*values), plugin.request_time(labels).labels(*values), errors)
        self._series[(method, path, status)] = series
        return series

    def observe(self, method: str, path: str, status: int, seconds: float) -> None:
        series = self._series.get((method, path, status)) or self._make(method, path, status)
        series[0].inc()
        series[1].observe(seconds)
        if series[2] is not None:
            series[2].inc()


async def _never_called(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("HttpMetrics records; it does not serve")


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(app_name="agent-relay", prefix=HTTP_PREFIX, group_path=True)


class RelayCollector(Collector):
    """This node's figures and the relay-wide ones of the last `refresh`."""

    def __init__(self, broker: Broker, readiness: Readiness) -> None:
        self.broker = broker
        self.readiness = readiness
        self.stats: RelayStats | None = None
        self.workers_alive: int | None = None

    async def refresh(self, relay: Relay) -> None:
        try:
            self.stats = await read_stats(relay.redis)
            self.workers_alive = (await relay.maintenance.workers()).alive
        except (RedisError, OSError):
            self.stats = None
            self.workers_alive = None

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield _gauge("relay_sse_clients", "Open SSE streams on this node", len(self.broker.clients))
        yield _gauge("relay_sse_subscribed", "1 while this node's Redis subscription is live", self.broker.connected)
        status, _ = self.readiness.answer()
        yield _gauge("relay_node_ready", "1 while this node's /readyz answers 200", status == 200)
        yield _gauge("relay_node_draining", "1 once this node got SIGTERM and is draining", self.readiness.draining)
        stats = self.stats
        yield _gauge("relay_redis_up", "1 when the last scrape could read Redis", stats is not None)
        if stats is None:
            return
        yield _labelled(GaugeMetricFamily, "relay_agents", "Agents by status", "status", stats.agents_by_status)
        messages = CounterMetricFamily("relay_messages_sent", "Messages sent (the message id counter), relay-wide")
        messages.add_metric([], stats.messages_total)
        yield messages
        if stats.events_total:
            yield _labelled(
                CounterMetricFamily,
                "relay_events_published",
                "Events published per area (Redis stream entries ever added), relay-wide",
                "group",
                stats.events_total,
            )
        yield _labelled(
            GaugeMetricFamily, "relay_commands", "Stored commands by status", "status", stats.commands_by_status
        )
        yield _labelled(
            GaugeMetricFamily,
            "relay_callback_deliveries",
            "Integration callback deliveries kept, by outcome",
            "status",
            stats.callbacks_by_status,
        )
        yield _labelled(
            GaugeMetricFamily,
            "relay_automation_runs",
            "Automation runs kept, and those still running",
            "state",
            {"stored": stats.automation_runs, "running": stats.automation_runs_running},
        )
        if self.workers_alive is not None:
            yield _gauge("relay_workers_alive", "Workers whose liveness key is live", self.workers_alive)
        if stats.reaper_last_run_ms is not None:
            age = max(0, stats.at_ms - stats.reaper_last_run_ms) / 1000
            yield _gauge("relay_reaper_last_pass_age_seconds", "Time since the last periodic reaper pass (lag)", age)
            yield _gauge(
                "relay_reaper_last_pass_duration_seconds",
                "Duration of the last periodic reaper pass",
                (stats.reaper_duration_ms or 0) / 1000,
            )
            yield _gauge("relay_reaper_interval_seconds", "The reaper's interval", stats.reaper_interval_s or 0)


def _gauge(name: str, doc: str, value: float | bool) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=float(value))


def _labelled(
    kind: type[GaugeMetricFamily] | type[CounterMetricFamily], name: str, doc: str, label: str, values: dict[str, int]
) -> GaugeMetricFamily | CounterMetricFamily:
    family = kind(name, doc, labels=[label])
    for key, value in values.items():
        family.add_metric([key], value)
    return family


class MetricsController(PrometheusController):
    path = "/metrics"

    @get(name="metrics", opt={"scope": PUBLIC}, media_type=CONTENT_TYPE_LATEST, tags=["system"])
    async def get(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Prometheus text format: HTTP figures of this node and relay-wide figures read from Redis."""
        collector: RelayCollector = request.app.state.metrics
        await collector.refresh(request.app.state.relay)
        body = generate_latest(REGISTRY) + generate_latest(request.app.state.metrics_registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


def node_registry(collector: RelayCollector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry

