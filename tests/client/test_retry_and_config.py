"""Which calls the client retries, and where it finds the relay and its token (no server needed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from relay_client import AsyncClient, Client, RelayError, RetryPolicy
from relay_client.config import DEFAULT_URL, resolve

FAST = RetryPolicy(attempts=4, base_s=0.001, max_s=0.002)
# Decodes as a message, a task and a heartbeat answer alike (unknown fields are ignored).
MESSAGE = {"id": 7, "to": "b", "from": "a", "body": "hi", "title": "t", "agent": {"id": "a"}}


class Script:
    """A transport answering from a script: each entry an exception to raise or a status to answer."""

    def __init__(self, *steps: int | type[Exception]) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if self.steps else 200
        if isinstance(step, type):
            raise step("scripted failure", request=request)
        body = {"error": "storage unavailable"} if step == 503 else MESSAGE
        return httpx.Response(step, json=body, headers={"Retry-After": "0"} if step == 503 else {})


def client(script: Script) -> Client:
    return Client("http://relay.test", "t", retry=FAST, transport=httpx.MockTransport(script))


Call = Callable[[Client], object]
SEND_PLAIN: Call = lambda c: c.messages.send("a", "b", "hi")  # noqa: E731
SEND_KEYED: Call = lambda c: c.messages.send("a", "b", "hi", idempotency_key="k1")  # noqa: E731
READ: Call = lambda c: c.messages.get(7)  # noqa: E731
HEARTBEAT: Call = lambda c: c.agents.heartbeat("a")  # noqa: E731
TASK_STATUS: Call = lambda c: c.tasks.set_status(1, "done")  # noqa: E731


@pytest.mark.parametrize(
    ("call", "failure", "retried"),
    [
        # Nothing reached the relay: any call is sent again, a plain send too.
        (SEND_PLAIN, httpx.ConnectError, True),
        (SEND_PLAIN, httpx.ConnectTimeout, True),
        # It may have reached the relay: only idempotent calls are sent again.
        (SEND_PLAIN, httpx.ReadError, False),
        (SEND_PLAIN, httpx.RemoteProtocolError, False),
        (SEND_PLAIN, httpx.ReadTimeout, False),
        (SEND_PLAIN, 503, False),
        (TASK_STATUS, 503, False),
        (SEND_KEYED, httpx.ReadError, True),
        (SEND_KEYED, 503, True),
        (READ, httpx.RemoteProtocolError, True),
        (READ, 503, True),
        (HEARTBEAT, httpx.ReadTimeout, True),
        (HEARTBEAT, 503, True),
    ],
)
def test_what_is_retried(call: Call, failure: int | type[Exception], retried: bool) -> None:
    script = Script(failure)
    with client(script) as c:
        if retried:
            call(c)
            assert len(script.requests) == 2
            # The repeat is the same request.
            assert script.requests[0].content == script.requests[1].content
        else:
            with pytest.raises(RelayError) as failed:
                call(c)
            assert len(script.requests) == 1
            if failure == 503:
                assert (failed.value.status, failed.value.error) == (503, "storage unavailable")
            else:
                assert failed.value.status == 0 and failed.value.unreachable


def test_retries_are_bounded() -> None:
    script = Script(503, 503, 503, 503, 503, 503)
    with client(script) as c, pytest.raises(RelayError) as failed:
        READ(c)
    assert failed.value.status == 503 and failed.value.retry_after == 0
    assert len(script.requests) == FAST.attempts


def test_client_errors_are_not_retried() -> None:
    script = Script(409, 409)
    with client(script) as c, pytest.raises(RelayError):
        HEARTBEAT(c)
    assert len(script.requests) == 1


async def test_async_twin_retries_the_same_way() -> None:
    script = Script(httpx.ConnectError, 503)
    async with AsyncClient("http://relay.test", "t", retry=FAST, transport=httpx.MockTransport(script)) as c:
        message = await c.messages.send("a", "b", "hi", idempotency_key="k")
    assert message.id == 7 and len(script.requests) == 3


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(attempts=10, base_s=0.1, max_s=1.0)
    assert all(0.05 <= policy.delay(1) <= 0.15 for _ in range(50))
    assert all(policy.delay(9) <= 1.5 for _ in range(50))
    assert policy.delay(3, retry_after="0.5") == 0.5
    assert policy.delay(3, retry_after="120") == 1.0


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("AGENT_RELAY_URL", "AGENT_RELAY_TOKEN", "AGENT_RELAY_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENT_RELAY_DATA_DIR", str(tmp_path))
    return tmp_path


def test_defaults_without_anything(env: Path) -> None:
    target = resolve()
    assert (target.url, target.token, target.url_source, target.token_source) == (DEFAULT_URL, None, "default", None)


def test_relay_dev_data_dir(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (env / "admin-token").write_text("relay_dev_admin\n")
    # An older `relay dev` wrote no url file: it served the default URL.
    assert (resolve().url, resolve().token) == (DEFAULT_URL, "relay_dev_admin")
    (env / "url").write_text("http://127.0.0.1:5999\n")
    target = resolve()
    assert (target.url, target.token) == ("http://127.0.0.1:5999", "relay_dev_admin")
    assert target.token_source == str(env / "admin-token")
    # The local admin token is never sent to another relay.
    assert resolve("https://relay.example.com").token is None
    monkeypatch.setenv("AGENT_RELAY_URL", "https://relay.example.com/")
    assert (resolve().url, resolve().token) == ("https://relay.example.com", None)
    # ... unless it is that data dir's relay after all.
    assert resolve("http://127.0.0.1:5999/").token == "relay_dev_admin"


def test_environment_and_arguments_win(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (env / "admin-token").write_text("relay_dev_admin\n")
    monkeypatch.setenv("AGENT_RELAY_ADMIN_TOKEN", "admin-from-env")
    assert resolve().token == "admin-from-env"
    monkeypatch.setenv("AGENT_RELAY_TOKEN", "agent-token")
    assert (resolve().token, resolve().token_source) == ("agent-token", "AGENT_RELAY_TOKEN")
    assert resolve(token="explicit").token == "explicit"
    monkeypatch.setenv("AGENT_RELAY_URL", "http://10.0.0.5:4850")
    assert resolve().url_source == "AGENT_RELAY_URL" and resolve("http://x:1").url == "http://x:1"
