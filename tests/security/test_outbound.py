"""Outbound calls: the private-address policy is checked on the resolved address actually connected to."""

from __future__ import annotations

import ipaddress

import pytest

from relay_model import outbound
from relay_model.errors import Invalid, UpstreamFailed
from relay_model.outbound import AddressPolicy, BlockedDestination, is_public, pin_destination
from relay_model.settings import Settings
from tests.receiver import callback_receiver

BLOCK = AddressPolicy(block_private=True)

# Spellings of loopback, private, link-local/metadata and other non-public destinations.
REFUSED = [
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
    "http://user@127.0.0.1/",  # userinfo in front of the host
    "http://0x7f.1/",  # hex and short form
    "http://017700000001/",  # octal
    "http://localhost:4850/api",  # a name that resolves to loopback
    "http://[::1]/",
    "http://0.0.0.0/",
    "http://10.1.2.3/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://[fd00:ec2::254]/",  # AWS metadata over IPv6
    "http://100.100.100.200/",  # Alibaba metadata (shared address space)
    "http://224.0.0.1/",  # multicast
    "http://240.0.0.1/",  # reserved
    "http://[64:ff9b::7f00:1]/",  # NAT64 wrapping loopback
    "http://[2002:7f00:1::]/",  # 6to4 wrapping loopback
    "http://[fec0::1]/",  # deprecated site-local (Python 3.11 calls it global)
    "http://192.0.0.8/",  # IETF protocol assignments (ditto)
    "http://[3fff::1]/",  # documentation
    "http://[5f00::1]/",  # SRv6 SIDs
    "http://[64:ff9b:1::1]/",  # local-use NAT64
    "http://[2001::1]/",  # Teredo
    "http://[::7f00:1]/",  # IPv4-compatible loopback
    "http://198.18.0.1/",  # benchmarking
    "http://[ff02::1]/",  # multicast
]

# Link-local and metadata destinations: refused even with blocking off (the default) and even when
# an allowed network covers them.
METADATA = [
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.0.1/",
    "http://[fd00:ec2::254]/",
    "http://[::ffff:169.254.169.254]/",  # IPv4-mapped
    "http://[::ffff:a9fe:a9fe]/",  # the same, in hex
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64
    "http://[2002:a9fe:a9fe::]/",  # 6to4
    "http://[::a9fe:a9fe]/",  # IPv4-compatible
    "http://[fe80::1]/",  # IPv6 link-local
    "http://2852039166/",  # 169.254.169.254 as one number
]


@pytest.mark.parametrize("url", REFUSED)
async def test_private_destinations_are_refused_when_blocking(url: str) -> None:
    with pytest.raises(BlockedDestination) as caught:
        await outbound.request("GET", url, policy=BLOCK, timeout_s=1)
    assert caught.value.status_code == 502
    assert caught.value.message.startswith("outbound address not allowed: ")


@pytest.mark.parametrize("url", METADATA)
@pytest.mark.parametrize(
    "policy",
    [
        AddressPolicy(),
        AddressPolicy(block_private=True, allow=tuple(ipaddress.ip_network(n) for n in ("169.254.0.0/16", "fd00::/8"))),
    ],
    ids=["blocking-off", "allowed-network"],
)
async def test_metadata_is_always_refused(url: str, policy: AddressPolicy) -> None:
    with pytest.raises(BlockedDestination) as caught:
        await outbound.request("GET", url, policy=policy, timeout_s=1)
    assert caught.value.message.startswith("outbound address not allowed: ")


async def test_a_name_pointing_at_metadata_is_refused_with_blocking_off() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["169.254.169.254"]

    with pytest.raises(BlockedDestination):
        await outbound.request("GET", "http://metadata.example.test/", policy=AddressPolicy(), resolve=resolve)


@pytest.mark.parametrize("url", ["http://0177.0.0.1:80/", "http://[::1/", "http://" + "a" * 70 + ".test/"])
async def test_unusable_urls_are_upstream_failures_not_crashes(url: str) -> None:
    with pytest.raises((UpstreamFailed, Invalid)) as caught:
        await outbound.request("GET", url, timeout_s=1)
    assert caught.value.status_code in (400, 502)


async def test_a_name_with_any_private_answer_is_refused() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]

    with pytest.raises(BlockedDestination):
        await pin_destination("https://hooks.example.test/x", BLOCK, resolve)


async def test_the_checked_address_is_the_one_connected_to() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        assert (host, port) == ("hooks.example.test", 8443)
        return ["93.184.216.34"]

    dest = await pin_destination("https://user@hooks.example.test:8443/cb?x=1", BLOCK, resolve)
    assert dest.url.host == "93.184.216.34" and dest.url.port == 8443 and dest.url.raw_path == b"/cb?x=1"
    # The name stays in the Host header and in TLS (SNI and certificate verification).
    assert dest.host_header == "hooks.example.test:8443"
    assert dest.sni_hostname == "hooks.example.test"
    plain = await pin_destination("http://hooks.example.test:8443/", BLOCK, resolve)
    assert plain.sni_hostname is None


async def test_end_to_end_through_an_allowed_network_keeps_the_host_header() -> None:
    policy = AddressPolicy(block_private=True, allow=(ipaddress.ip_network("127.0.0.0/8"),))
    with callback_receiver() as rec:
        url = f"http://localhost:{rec.port}/hook"
        response = await outbound.request("POST", url, json_body=b"{}", policy=policy, timeout_s=5)
        assert response.status_code == 200
        path, headers, _ = rec.hits[0]
        assert path == "/hook" and headers["host"] == f"localhost:{rec.port}"
        # Redirects are answered, never followed.
        moved = await outbound.request("POST", rec.url + "/moved", json_body=b"{}", policy=policy, timeout_s=5)
        assert moved.status_code == 302 and [h[0] for h in rec.hits] == ["/hook", "/moved"]


async def test_off_by_default_so_private_receivers_work() -> None:
    assert outbound.AddressPolicy().block_private is False
    with callback_receiver() as rec:
        response = await outbound.request("POST", rec.url + "/x", json_body=b"{}", policy=AddressPolicy(), timeout_s=5)
        assert response.status_code == 200


def test_policy_from_settings() -> None:
    policy = AddressPolicy.from_settings(
        Settings(outbound_block_private=True, outbound_allow_cidrs="10.0.5.0/24, fd00::/8")
    )
    assert policy.permits(ipaddress.ip_address("10.0.5.7"))
    assert not policy.permits(ipaddress.ip_address("10.0.6.7"))
    assert policy.permits(ipaddress.ip_address("8.8.8.8"))
    assert is_public(ipaddress.ip_address("2606:4700::1111"))
    assert not is_public(ipaddress.ip_address("::ffff:10.0.0.1"))
