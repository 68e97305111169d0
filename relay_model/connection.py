"""Redis clients. Timeouts are bounded so a dead Redis turns into a fast 503, not a hung request."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

try:
    from redis.connection import HiredisRespSerializer
    from redis.utils import HIREDIS_AVAILABLE
except ImportError:  # pragma: no cover - redis-py without the serializer
    HIREDIS_AVAILABLE = False


_FAST: dict[type[AbstractConnection], type[AbstractConnection]] = {}


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


def connect(url: str, *, max_connections: int = 200) -> Redis:
    client: Redis = Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=5.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
        max_connections=max_connections,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
    if HIREDIS_AVAILABLE:
        # The pool creates its connections lazily from this class (TCP, TLS or unix socket as the URL chose).
        pool = client.connection_pool
        pool.connection_class = _hiredis_packing(pool.connection_class)
    return client
