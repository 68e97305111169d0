"""OpenTelemetry tracing, an optional extra (`pip install 'agent-relay[tracing]'`).

`AGENT_RELAY_TRACING=otlp` exports one span per HTTP request (Litestar's OpenTelemetry plugin on
`opentelemetry-instrumentation-asgi`) over OTLP/HTTP; the exporter reads the standard
`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_HEADERS`,
and `OTEL_SERVICE_NAME` names the service (default `agent-relay`). `console` prints spans to stdout
(for trying it out). Probes and `/metrics` are not traced. Off by default: nothing is imported then.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from relay_model.settings import Settings

if TYPE_CHECKING:
    from litestar.plugins import InitPlugin

NOT_TRACED = ["/healthz", "/readyz", "/metrics"]


class TracingUnavailable(RuntimeError):
    pass


def tracing_plugins(settings: Settings, exporter: Any = None) -> list[InitPlugin]:
    """The plugin list for `create_app`; empty when tracing is off. `exporter` replaces the configured one (tests)."""
    if not settings.tracing:
        return []
    try:
        from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
    except ImportError as exc:
        raise TracingUnavailable(
            f"AGENT_RELAY_TRACING={settings.tracing} needs the tracing extra: "
            f"pip install 'agent-relay[tracing]' ({exc})"
        ) from exc
    service = os.environ.get("OTEL_SERVICE_NAME", "agent-relay")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif settings.tracing == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    # One server span per request; the per-message receive/send spans would only add cost.
    config = OpenTelemetryConfig(tracer_provider=provider, exclude=NOT_TRACED, exclude_spans=["receive", "send"])
    return [OpenTelemetryPlugin(config)]
