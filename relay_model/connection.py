"""Redis clients. Timeouts are bounded so a dead Redis turns into a fast 503, not a hung request.

The relay's data lives on one Redis or on a Redis Cluster (`AGENT_RELAY_REDIS_CLUSTER=1`, `REDIS_URL`
naming any node). Every store is written against `redis.asyncio.Redis`; on a cluster it gets a
`redis.asyncio.cluster.RedisCluster` instead, which has the same command methods and routes each
command by its key's slot. What the cluster client lacks the relay does not use on it: MULTI/WATCH
(every multi-key change is a Lua script, whose keys share one hash tag) and pub/sub (the SSE broker
subscribes on a plain connection to one node: `EventSubscriber`).
"""

from __future__ import annotations

import itertools
import logging
from typing import Any, Final, cast

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection, Connection, ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ClusterDownError, RedisClusterException, RedisError, WatchError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

try:
    from redis.connection import HiredisRespSerializer
    from redis.utils import HIREDIS_AVAILABLE
except ImportError:  # pragma: no cover - redis-py without the serializer
    HIREDIS_AVAILABLE = False


_FAST: dict[type[AbstractConnection], type[AbstractConnection]] = {}

# The same bounds for every connection, plain or to a cluster node.
_TIMEOUTS: Final[dict[str, Any]] = {
    "socket_timeout": 5.0,
    "socket_connect_timeout": 2.0,
    "health_check_interval": 30,
}

# What a Redis that is away (down, restarting, failing over, not yet reachable) raises. The cluster
# client raises RedisClusterException, which is no RedisError, when no node of the cluster answers.
STORAGE_ERRORS: Final[tuple[type[Exception], ...]] = (RedisError, RedisClusterException, OSError)


# Of those, the ones that mean "Redis is away" rather than "this call is wrong": connection refused or
# reset, a socket timeout, Redis still loading its AOF after a restart (BusyLoadingError is a
# ConnectionError), a Redis Cluster without a master for some slots (CLUSTERDOWN, during a failover).
# Any other ResponseError (a bug, a script error) is not an outage.
OUTAGE_ERRORS: Final = (RedisConnectionError, RedisTimeoutError, ClusterDownError, OSError)


def is_outage(exc: BaseException) -> bool:
    """Redis is away. redis-py reports a connection lost while a pipeline WATCHes keys (arq does, to
    start and to enqueue jobs) as a WatchError raised while handling the connection error.

    Loops that isolate one item's failure from the others (reaper steps, a batch of automation slots)
    let an outage through instead of logging it per item: the worker's job wrapper logs it once."""
    if isinstance(exc, OUTAGE_ERRORS):
        return True
    cause = exc.__cause__ or exc.__context__
    return isinstance(exc, WatchError) and cause is not None and is_outage(cause)


def log_failure(logger: logging.Logger, exc: BaseException, text: str, *args: object) -> None:
    """Log a failure that is isolated and carried on from: with Redis away, one warning line saying so
    (the worker reports the outage itself); anything else with its traceback."""
    if is_outage(exc):
        logger.warning(text + ": Redis is away (%s)", *args, exc)
    else:
        logger.error(text, *args, exc_info=exc)


def _hiredis_packing(cls: type[AbstractConnection]) -> type[AbstractConnection]:
    """`cls` packing commands with hiredis (C) as redis-py's sync client does; its asyncio client packs in
    Python, which cost about 20 µs per message send (a script call has some twenty arguments)."""
    if cls in _FAST.values():
        return cls
    if cls in _FAST:
        return _FAST[cls]
    serializer = HiredisRespSerializer()

    def pack_command(self: AbstractConnection, *args: Any) -> list[bytes]:
        packed: list[bytes] = serializer.pack(*args)
        return packed

    fast = type(cls.__name__, (cls,), {"pack_command": pack_command})
    _FAST[cls] = fast
    return fast


def _retry() -> Retry:
    return Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2)


def connect(url: str, *, cluster: bool = False, max_connections: int = 200) -> Redis:
    """The client of the relay's data: a plain one, or with `cluster` a cluster client discovering
    every node from the one `url` names (`max_connections` is then per node)."""
    if cluster:
        return _connect_cluster(url, max_connections)
    client: Redis = Redis.from_url(
        url,
        decode_responses=True,
        max_connections=max_connections,
        retry=_retry(),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        **_TIMEOUTS,
    )
    if HIREDIS_AVAILABLE:
        # The pool creates its connections lazily from this class (TCP, TLS or unix socket as the URL chose).
        pool = client.connection_pool
        pool.connection_class = _hiredis_packing(pool.connection_class)
    return client


def _connect_cluster(url: str, max_connections: int) -> Redis:
    client = RedisCluster.from_url(
        url,
        decode_responses=True,
        max_connections=max_connections,
        retry=_retry(),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        **_TIMEOUTS,
    )
    if HIREDIS_AVAILABLE:
        # Nodes found later are built from these kwargs (the node manager holds the same dict).
        fast = _hiredis_packing(client.connection_kwargs.get("connection_class", Connection))
        client.connection_kwargs["connection_class"] = fast
        for node in client.nodes_manager.startup_nodes.values():
            node.connection_class = cast(type[Connection], fast)
    # The stores are typed against Redis; the cluster client answers the same commands (see above).
    return cast(Redis, client)


def is_cluster(client: Redis) -> bool:
    return isinstance(client, RedisCluster)


class EventSubscriber:
    """Where the SSE broker subscribes: pub/sub of the data client, or on a cluster a plain connection
    to one of its nodes.

    redis-py's asyncio cluster client has no pub/sub. A cluster forwards every PUBLISH to all of its
    nodes (classic, not sharded, pub/sub), so a subscription on any one node sees every event.
    `open()` picks the next node in turn each time it is called, so after the node it used fails the
    broker's next attempt goes to another one (the node list is re-read from the cluster client,
    which learns about failovers).
    """

    def __init__(self, client: Redis) -> None:
        self.client = client
        self._turn = itertools.count()
        self._node: Redis | None = None

    async def open(self) -> PubSub:
        """A fresh pub/sub object (it reports subscribe confirmations: the broker waits for its own)."""
        await self.close()
        if not is_cluster(self.client):
            return self.client.pubsub()
        cluster = cast(RedisCluster, self.client)
        await cluster.initialize()
        nodes = sorted(cluster.get_nodes(), key=lambda n: n.name)
        if not nodes:
            raise RedisConnectionError("the cluster has no known node to subscribe on")
        node = nodes[next(self._turn) % len(nodes)]
        # A connection like the cluster client's own to that node (auth, TLS, timeouts), without the
        # cluster's reply parser.
        kwargs = {k: v for k, v in node.connection_kwargs.items() if k != "parser_class"}
        pool = ConnectionPool(connection_class=node.connection_class, max_connections=2, **kwargs)
        self._node = Redis.from_pool(pool)  # owns the pool: closing the client closes it
        return self._node.pubsub()

    async def close(self) -> None:
        node, self._node = self._node, None
        if node is not None:
            try:
                await node.aclose()
            except STORAGE_ERRORS:
                pass
