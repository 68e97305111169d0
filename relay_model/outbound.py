"""Bounded outbound HTTP (orchestrator proxy, integration callbacks).

Every call has a timeout, a response size cap, accepts only http(s) URLs and never follows
redirects. Deployments can also refuse private destinations (see `AddressPolicy`).

The host is always resolved once, every address it resolves to is checked, and the connection goes
to that checked address (the URL's host stays in the `Host` header and, for https, in TLS SNI and
certificate verification). Checking one resolution and then letting the HTTP client resolve again
would let a DNS answer change in between (rebinding); spelled forms of loopback (`2130706433`,
`0x7f.1`, `[::ffff:127.0.0.1]`) are caught because the check is on what the resolver returns, not on
the text of the URL.

Link-local addresses, where cloud metadata services answer (169.254.0.0/16, fe80::/10, AWS's
fd00:ec2::254, also inside IPv4-mapped, NAT64 and 6to4 forms), are refused always: no relay has a
reason to call them and they hand out credentials. With `AGENT_RELAY_OUTBOUND_BLOCK_PRIVATE` on,
every address that is not globally routable is refused too (`NON_PUBLIC`, the IANA special-purpose
registries), except the networks in `AGENT_RELAY_OUTBOUND_ALLOW_CIDRS`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from relay_model.errors import Invalid, UpstreamFailed
from relay_model.settings import Settings, url_problem

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# IPv4-compatible IPv6 (deprecated, RFC 4291): `::a.b.c.d` carries an IPv4 address too.
_V4_COMPAT = ipaddress.ip_network("::/96")

# Refused whatever the policy says (metadata services and other link-local hosts).
ALWAYS_REFUSED: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n) for n in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128")
)

# Not globally routable: the IANA IPv4 and IPv6 special-purpose address registries (plus the
# deprecated site-local fec0::/10), listed here rather than trusting `is_global`, whose answers
# differ between Python versions (3.11 calls fec0::1 and 192.0.0.8 global).
NON_PUBLIC: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.31.196.0/24",
        "192.52.193.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "192.175.48.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/96",
        "::ffff:0:0/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)


class BlockedDestination(UpstreamFailed):
    """The destination resolved to an address the outbound policy refuses."""


def _embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), which is where it really goes."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _V4_COMPAT and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _candidates(ip: IPAddress) -> list[IPAddress]:
    inner = _embedded_v4(ip)
    return [ip] if inner is None else [ip, inner]


def is_always_refused(ip: IPAddress) -> bool:
    """Link-local and metadata addresses, also wrapped in an IPv6 form: never called."""
    return any(c in net for c in _candidates(ip) for net in ALWAYS_REFUSED if c.version == net.version)


def is_public(ip: IPAddress) -> bool:
    """False for loopback, private, link-local (cloud metadata 169.254.169.254), shared (100.64/10),
    multicast, reserved, documentation, site-local and unspecified addresses, also when wrapped in an
    IPv6 form."""
    for candidate in _candidates(ip):
        if any(candidate in net for net in NON_PUBLIC if candidate.version == net.version):
            return False
        if not candidate.is_global or candidate.is_multicast or candidate.is_reserved or candidate.is_unspecified:
            return False
    return True


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    block_private: bool = False
    # Networks let through even when private ones are blocked (e.g. the orchestrators' subnet).
    allow: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressPolicy:
        allow = tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in settings.outbound_allow_cidrs.split(",")
            if part.strip()
        )
        return cls(block_private=settings.outbound_block_private, allow=allow)

    def permits(self, ip: IPAddress) -> bool:
        if is_always_refused(ip):
            return False  # not even an allowed network lets metadata through
        if not self.block_private or any(ip in net for net in self.allow):
            return True
        return is_public(ip)


_policy = AddressPolicy()


def configure(settings: Settings) -> None:
    """Set the process-wide policy from the settings (each process builds its Relay once)."""
    global _policy
    _policy = AddressPolicy.from_settings(settings)


def current_policy() -> AddressPolicy:
    return _policy


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # An IPv6 sockaddr may carry a zone (`fe80::1%eth0`); the zone is not part of the address.
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


@dataclass(frozen=True, slots=True)
class Destination:
    url: httpx.URL  # what is connected to: the URL with its host replaced by the checked address
    host_header: str
    sni_hostname: str | None


async def pin_destination(url: str, policy: AddressPolicy, resolve: Resolver = system_resolve) -> Destination:
    """Resolve once, refuse if any answer is refused, and aim the request at the checked address."""
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UpstreamFailed(f"invalid URL: {exc}") from exc
    host = target.host
    port = target.port or (443 if target.scheme == "https" else 80)
    try:
        addresses = await resolve(host, port)
    except (OSError, UnicodeError) as exc:  # a name the IDNA codec refuses (a label over 63 characters)
        raise UpstreamFailed(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise UpstreamFailed(f"cannot resolve {host}")
    ips = [ipaddress.ip_address(a) for a in addresses]
    for ip in ips:
        if not policy.permits(ip):
            raise BlockedDestination(f"outbound address not allowed: {host} resolves to {ip}")
    sni = host if target.scheme == "https" else None
    return Destination(target.copy_with(host=str(ips[0])), target.netloc.decode("ascii"), sni)


DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class OutboundResponse:
    status_code: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        try:
            return msgspec.json.decode(self.body)
        except msgspec.DecodeError as exc:
            raise UpstreamFailed("upstream answered with invalid JSON") from exc


def check_url(url: str) -> str:
    try:
        problem = url_problem(url)
    except ValueError as exc:  # urlsplit refuses e.g. an unclosed IPv6 bracket
        raise Invalid(f"invalid URL: {exc}") from exc
    if problem:
        raise Invalid(problem)
    return url


async def request(
    method: str,
    url: str,
    *,
    json_body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_bytes: int = DEFAULT_MAX_BYTES,
    policy: AddressPolicy | None = None,
    resolve: Resolver = system_resolve,
) -> OutboundResponse:
    """One bounded request. Raises UpstreamFailed on network errors, timeouts and oversize bodies,
    and BlockedDestination (a 502 too) when the address policy refuses where the URL leads."""
    check_url(url)
    send_headers = {k.lower(): v for k, v in (headers or {}).items()}
    if json_body is not None:
        send_headers.setdefault("content-type", "application/json")
    active = policy or _policy
    # httpx's timeout bounds each read, not the call: an upstream trickling its answer a byte at a
    # time would hold the caller (an API request, a callback delivery) for as long as it likes.
    # `timeout_s` is the whole call's deadline, name resolution included.
    try:
        async with asyncio.timeout(timeout_s):
            return await _exchange(method, url, json_body, send_headers, timeout_s, max_bytes, active, resolve)
    except (httpx.TimeoutException, TimeoutError) as exc:
        raise UpstreamFailed(f"timed out after {timeout_s:g}s") from exc
    except httpx.HTTPError as exc:
        raise UpstreamFailed(str(exc) or exc.__class__.__name__) from exc


async def _exchange(
    method: str,
    url: str,
    json_body: bytes | None,
    send_headers: dict[str, str],
    timeout_s: float,
    max_bytes: int,
    policy: AddressPolicy,
    resolve: Resolver,
) -> OutboundResponse:
    # Always pinned: even with private addresses allowed, metadata must not be reachable by rebinding.
    destination = await pin_destination(url, policy, resolve)
    send_headers["host"] = destination.host_header
    extensions: dict[str, Any] = {}
    if destination.sni_hostname:
        extensions["sni_hostname"] = destination.sni_hostname
    target = destination.url
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), follow_redirects=False, trust_env=False) as client,
        client.stream(method, target, content=json_body, headers=send_headers, extensions=extensions) as response,
    ):
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise UpstreamFailed(f"response larger than {max_bytes} bytes")
            chunks.append(chunk)
        return OutboundResponse(response.status_code, b"".join(chunks), dict(response.headers))
