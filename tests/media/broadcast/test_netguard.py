"""SSRF: destination hosts pointing inside our network are refused, when saved and again at push start."""

from __future__ import annotations

import pytest

from apps.destinations import netguard
from media.broadcast.pusher import DestinationSpec
from tests.support.rtmp import wait_for

# Literal forms, read the way connect() would read them.
PRIVATE_LITERALS = [
    "127.0.0.1",
    "127.1",  # short form
    "2130706433",  # decimal 127.0.0.1
    "017700000001",  # octal integer
    "0177.0.0.1",  # octal dotted
    "0x7f.0.0.1",  # hex dotted
    "0x7f000001",  # hex integer
    "0",  # 0.0.0.0
    "0.0.0.0",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # CGNAT
    "100.127.255.254",
    "198.18.0.1",  # benchmarking
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::1",
    "[::1]",
    "::",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "[::ffff:7f00:1]",
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible
    "fc00::1",  # ULA
    "fd12:3456::1",
    "fe80::1",  # link-local
    "fe80::1%eth0",
    "fec0::1",  # site-local (deprecated, RFC 3879): still routed inside some networks
    "feff:ffff::1",
    "ff02::1",  # multicast
    "2002:7f00:1::1",  # 6to4 embedding 127.0.0.1
    "2002:c0a8:101::1",  # 6to4 embedding 192.168.1.1
    "64:ff9b::10.0.0.1",  # NAT64 embedding 10.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 embedding 169.254.169.254
    "64:ff9b:1::1",  # local-use NAT64
]


@pytest.mark.parametrize("host", PRIVATE_LITERALS)
def test_private_literals_are_refused(host):
    with pytest.raises(netguard.PrivateAddressError):
        netguard.check_host(host, 1935, allow_private=False)


def resolver(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("NXDOMAIN")
        return table[host]

    return resolve


@pytest.mark.parametrize(
    ("name", "addresses"),
    [
        ("localhost.streamus.test", ["127.0.0.1"]),
        ("metadata.streamus.test", ["169.254.169.254"]),
        ("intranet.streamus.test", ["10.1.2.3"]),
        ("cgnat.streamus.test", ["100.64.1.1"]),
        ("ula.streamus.test", ["fd00::5"]),
        ("mapped.streamus.test", ["::ffff:192.168.0.1"]),
        # one bad answer among good ones is enough to refuse (rebinding via round robin)
        ("mixed.streamus.test", ["142.250.1.1", "192.168.0.10"]),
    ],
)
def test_names_resolving_to_private_addresses_are_refused(name, addresses):
    with pytest.raises(netguard.PrivateAddressError):
        netguard.check_host(name, 1935, resolver=resolver({name: addresses}), allow_private=False)


def test_unresolvable_names_are_refused():
    with pytest.raises(netguard.PrivateAddressError, match="cannot be resolved"):
        netguard.check_host("nowhere.streamus.test", 1935, resolver=resolver({}), allow_private=False)


@pytest.mark.parametrize("host", ["8.8.8.8", "2606:4700:4700::1111", "a.rtmps.youtube.com"])
def test_public_hosts_pass(host):
    table = {"a.rtmps.youtube.com": ["142.250.180.12", "2a00:1450:4001:80b::200c"]}
    addresses = netguard.check_host(
        host, 443, resolver=resolver(table) if "youtube" in host else None, allow_private=False
    )
    assert addresses


def test_allow_private_is_for_local_testing_only():
    assert netguard.check_host("127.0.0.1", 1935, allow_private=True) == ["127.0.0.1"]


def test_allowed_networks_admit_only_themselves(settings):
    """An ingest on the creator's own network, named by DESTINATION_ALLOWED_NETWORKS; nothing else private."""
    settings.DESTINATION_ALLOWED_NETWORKS = ["198.51.100.0/24"]
    assert netguard.check_host("198.51.100.7", 1935, allow_private=False) == ["198.51.100.7"]
    for host in ("127.0.0.1", "10.0.0.1", "192.0.2.7", "169.254.169.254"):
        with pytest.raises(netguard.PrivateAddressError):
            netguard.check_host(host, 1935, allow_private=False)


@pytest.mark.media
def test_the_check_runs_again_when_each_push_starts(make_session, rtmp_servers, settings):
    """A destination saved while its name was public, now resolving to loopback: the pusher refuses."""
    settings.ALLOW_PRIVATE_DESTINATIONS = False
    (server,) = rtmp_servers(1)
    session = make_session(record=False, host_check=netguard.check_host)
    session.start([DestinationSpec(1, server.url, "rebound")])
    wait_for(lambda: session.pushers[1].stats.state == "error", 10)
    session.stop()
    assert "private" in session.pushers[1].stats.last_error
    assert server.recordings() == []
