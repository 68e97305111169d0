"""Operating an API node: /metrics, request ids, JSON logs, tracing, readiness budget, secrets from files."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from relay_api.app import create_app
from relay_api.drain import Readiness
from relay_model import logs
from relay_model.settings import Settings, with_password
from tests.conftest import AUTH


def _sample(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.M)
    assert match, f"{name}{labels} not in /metrics"
    return float(match.group(1))


def _maybe(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


async def test_metrics_report_http_traffic_and_relay_figures_read_from_redis(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    # HTTP series are per process (every app in this test process adds to them): compare before/after.
    sent = '{app_name="agent-relay",method="POST",path="/api/messages",status_code="201"}'
    before = (await client.get("/metrics")).text
    for agent in ("m1", "m2"):
        assert (await client.post("/api/agents", json={"id": agent})).status_code == 201
    for _ in range(3):
        assert (await client.post("/api/messages", json={"from": "m1", "to": "m2"})).status_code == 201
    assert (await client.patch("/api/agents/m2/status", json={"status": "busy"})).status_code == 200
    r = await client.get("/metrics", headers={"Authorization": ""})  # public, like the probes
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    # Relay-wide, from Redis: the built-in `user` and `system` agents are online too.
    assert _sample(text, "relay_agents", '{status="busy"}') == 1
    assert _sample(text, "relay_agents", '{status="online"}') == 3
    assert _sample(text, "relay_messages_sent_total") == 3
    assert _sample(text, "relay_commands", '{status="pending"}') == 0
    assert _sample(text, "relay_callback_deliveries", '{status="failed"}') == 0
    assert _sample(text, "relay_automation_runs", '{state="running"}') == 0
    assert _sample(text, "relay_workers_alive") == 0
    assert _sample(text, "relay_redis_up") == 1
    assert _sample(text, "relay_node_ready") == 1
    assert _sample(text, "relay_sse_clients") == 0
    assert _sample(text, "relay_events_published_total", '{group="bus"}') >= 6
    # Per node, from Litestar's Prometheus plugin: labelled by route template, never by raw id.
    for series in ("relay_http_requests_total", "relay_http_request_duration_seconds_count"):
        assert _sample(text, series, sent) - _maybe(before, series, sent) == 3
    assert 'path="/api/agents/m2/status"' not in text
    assert "relay_http_requests_total{" in text and re.search(r"path=\"/api/agents/\{[a-z_]+(:str)?\}/status\"", text)


async def test_request_id_is_echoed_or_generated_and_insane_ones_are_replaced(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    r = await client.get("/api/agents", headers={"X-Request-ID": "abc-123.x:y_z"})
    assert r.headers["x-request-id"] == "abc-123.x:y_z"
    generated = (await client.get("/api/agents")).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", generated)
    assert (await client.get("/api/agents")).headers["x-request-id"] != generated
    for bad in ("has space", "x" * 129, "new\\nline", ""):
        echoed = (await client.get("/api/agents", headers={"X-Request-ID": bad})).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{16}", echoed), bad
    # Unrouted requests and errors carry one too.
    r = await client.get("/api/nope", headers={"X-Request-ID": "lost-1"})
    assert (r.status_code, r.headers["x-request-id"]) == (404, "lost-1")


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logs.JsonFormatter())
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


async def test_access_log_is_one_json_line_per_request_with_its_request_id(redis: Redis, settings: Settings) -> None:
    import dataclasses

    handler = _Lines()
    access = logging.getLogger("relay.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        app = create_app(dataclasses.replace(settings, access_log=True))
        async with AsyncTestClient(app) as c:
            c.headers.update(AUTH)
            await c.post("/api/agents", json={"id": "logged"}, headers={"X-Request-ID": "req-42"})
            await c.get("/api/agents/logged?x=1")
    finally:
        access.removeHandler(handler)
    created, read = handler.lines[-2:]
    assert created["requestId"] == "req-42" and created["level"] == "INFO"
    assert created["data"] == {**created["data"], "method": "POST", "path": "/api/agents", "status": 201}  # type: ignore[dict-item]
    assert read["data"]["path"] == "/api/agents/logged?x=1" and read["data"]["status"] == 200  # type: ignore[index]
    assert isinstance(read["data"]["durationMs"], float)  # type: ignore[index]
    assert re.fullmatch(r"[0-9a-f]{16}", str(read["requestId"]))


async def test_access_log_is_off_by_default(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    handler = _Lines()
    logging.getLogger("relay.access").addHandler(handler)
    try:
        await client.get("/api/agents")
    finally:
        logging.getLogger("relay.access").removeHandler(handler)
    assert handler.lines == []


def test_json_log_lines_carry_the_traceback_and_structured_fields() -> None:
    formatter = logs.JsonFormatter()
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("t").makeRecord("t", logging.ERROR, __file__, 1, "failed %s", ("x",), None)
        import sys

        record.exc_info = sys.exc_info()
    token = logs.REQUEST_ID.set("rid-1")
    try:
        line = json.loads(formatter.format(record))
    finally:
        logs.REQUEST_ID.reset(token)
    assert line["msg"] == "failed x" and line["level"] == "ERROR" and line["requestId"] == "rid-1"
    assert "ValueError: boom" in line["exc"]


async def test_tracing_exports_one_span_per_request_when_enabled(redis: Redis, settings: Settings) -> None:
    import dataclasses

    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    app = create_app(dataclasses.replace(settings, tracing="console"), span_exporter=exporter)
    async with AsyncTestClient(app) as c:
        c.headers.update(AUTH)
        assert (await c.post("/api/agents", json={"id": "traced"})).status_code == 201
        assert (await c.get("/readyz")).status_code == 200  # probes are not traced
    spans = [(s.kind.name, s.name, (s.attributes or {}).get("http.status_code")) for s in exporter.get_finished_spans()]
    assert spans == [("SERVER", "POST /api/agents", 201)]


def test_tracing_without_the_extra_fails_with_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from relay_api.tracing import TracingUnavailable, tracing_plugins

    real_import = builtins.__import__

    def no_otel(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("opentelemetry") or name == "litestar.plugins.opentelemetry":
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_otel)
    with pytest.raises(TracingUnavailable, match=r"pip install 'agent-relay\[tracing\]'"):
        tracing_plugins(Settings(tracing="otlp"))
    assert tracing_plugins(Settings()) == []


def test_readiness_budget_and_draining() -> None:
    now = [100.0]
    r = Readiness(None, budget_s=10, clock=lambda: now[0])  # type: ignore[arg-type]
    assert r.answer() == (503, {"ok": False, "error": "storage unavailable", "redis": "not reached yet"})
    r.record(None)
    assert r.answer() == (200, {"ok": True})
    r.record("Connection refused")
    now[0] += 9.9
    r.record("Connection refused")
    status, body = r.answer()
    assert status == 200 and body["redis"] == "failing for 9.9s of a 10s budget"
    now[0] += 0.1
    assert r.answer() == (503, {"ok": False, "error": "storage unavailable", "redis": "Connection refused"})
    r.record(None)
    assert r.answer() == (200, {"ok": True})
    r.draining = True
    assert r.answer() == (503, {"ok": False, "error": "draining"})


def test_secrets_come_from_files_and_the_redis_password_joins_urls_without_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "admin").write_text("from-a-file\n")
    (tmp_path / "pw").write_text("p@ss/word\n")
    (tmp_path / "url").write_text("rediss://:own@managed.example:6380/0\n")
    monkeypatch.setenv("AGENT_RELAY_ADMIN_TOKEN_FILE", str(tmp_path / "admin"))
    monkeypatch.setenv("AGENT_RELAY_REDIS_PASSWORD_FILE", str(tmp_path / "pw"))
    monkeypatch.setenv("REDIS_URL_FILE", str(tmp_path / "url"))
    monkeypatch.setenv("AGENT_RELAY_QUEUE_REDIS_URL", "redis://queue:6379/0")
    s = Settings.from_env()
    assert s.admin_token == "from-a-file"
    assert s.redis_url == "rediss://:own@managed.example:6380/0"  # has its own password: kept
    assert s.queue_redis_url == "redis://:p%40ss%2Fword@queue:6379/0"
    monkeypatch.setenv("AGENT_RELAY_ADMIN_TOKEN", "also-in-env")
    with pytest.raises(ValueError, match="set AGENT_RELAY_ADMIN_TOKEN or AGENT_RELAY_ADMIN_TOKEN_FILE, not both"):
        Settings.from_env()
    monkeypatch.delenv("AGENT_RELAY_ADMIN_TOKEN")
    monkeypatch.setenv("AGENT_RELAY_ADMIN_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="AGENT_RELAY_ADMIN_TOKEN_FILE: cannot read"):
        Settings.from_env()
    assert with_password("redis://h:1/0", "") == "redis://h:1/0"
    assert with_password("redis://user@[::1]:7/2", "pw") == "redis://user:pw@[::1]:7/2"


def test_bad_operational_settings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_RELAY_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="AGENT_RELAY_LOG_FORMAT must be one of: json, text"):
        Settings.from_env()
    monkeypatch.delenv("AGENT_RELAY_LOG_FORMAT")
    monkeypatch.setenv("AGENT_RELAY_DRAIN_DELAY_S", "-1")
    with pytest.raises(ValueError, match="AGENT_RELAY_DRAIN_DELAY_S must be 0"):
        Settings.from_env()


async def test_openapi_tells_the_truth_about_content_types_errors_and_tokens(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    from relay_api.openapi_errors import EXTRA, public_operations

    schema = (await client.get("/schema/openapi.json", headers={"Authorization": ""})).json()
    paths = schema["paths"]
    events = paths["/api/events"]["get"]["responses"]
    assert list(events["200"]["content"]) == ["text/event-stream"]
    assert events["200"]["content"]["text/event-stream"]["schema"]["type"] == "string"
    assert list(paths["/readyz"]["get"]["responses"]) == ["200", "503"]
    assert public_operations(schema) == {
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/api/health"),
        ("get", "/metrics"),
    }
    for path, item in paths.items():
        for method, op in item.items():
            if (method, path) not in public_operations(schema):
                assert op["security"] == [{"bearer": []}, {"relayToken": []}], (method, path)

    def errors(method: str, path: str) -> set[int]:
        return {int(s) for s in paths[path][method]["responses"] if int(s) >= 400}

    assert errors("get", "/api/health") == {503}
    assert errors("get", "/api/agents") == {400, 401, 403, 414, 429, 503}
    assert errors("get", "/api/channels") == {401, 403, 429, 503}
    assert errors("post", "/api/messages") == {400, 401, 403, 413, 422, 429, 503}
    assert errors("post", "/api/messages/{message_id}/claim") == {400, 401, 403, 404, 409, 413, 414, 429, 503}
    assert errors("get", "/api/orchestrators/{orchestrator_id}/directories") == {
        400, 401, 403, 404, 414, 422, 429, 502, 503
    }  # fmt: skip
    assert 502 not in errors("post", "/api/agents") and 409 not in errors("get", "/api/messages")
    distinct = {frozenset(errors(m, p)) for p, item in paths.items() for m in item if p.startswith("/api")}
    assert len(distinct) >= 8  # not the same list on every operation
    # Every error is documented with the wire's `{"error": ...}` shape.
    body = paths["/api/agents"]["get"]["responses"]["401"]["content"]["application/json"]["schema"]
    assert "ErrorBody" in str(body)
    # The table of per-route refusals names only routes that exist.
    names = {h.name for route in client.app.routes for h in getattr(route, "route_handlers", [])}
    assert set(EXTRA) <= names, set(EXTRA) - names
