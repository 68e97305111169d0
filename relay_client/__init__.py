"""Agent Relay's Python client: `Client` (sync) and `AsyncClient`, one method per route, returning
msgspec structs (`relay_client.models`), raising `RelayError`, and `events()` streams that resume
by themselves.

    from relay_client import Client

    with Client() as relay:                      # AGENT_RELAY_URL / AGENT_RELAY_TOKEN, else `relay dev`'s
        relay.agents.register("a1", tags=["py"])
        relay.messages.send("a1", "a2", "hello", idempotency_key="greet-1")
        for event in relay.events(types=["message.*"], agent_id="a1"):
            print(event.type, event.data)

It imports no server package: install it anywhere that reaches the relay over HTTP.
"""

from relay_client import models
from relay_client._async.client import AsyncClient, AsyncEventStream
from relay_client._sync.client import Client, EventStream
from relay_client.config import Target, resolve
from relay_client.errors import RelayError
from relay_client.models import Event
from relay_client.retry import NO_RETRY, RetryPolicy
from relay_client.wire import version

__version__ = version()

__all__ = [
    "NO_RETRY",
    "AsyncClient",
    "AsyncEventStream",
    "Client",
    "Event",
    "EventStream",
    "RelayError",
    "RetryPolicy",
    "Target",
    "__version__",
    "models",
    "resolve",
]
