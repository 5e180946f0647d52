"""Refuse destination hosts that point inside our own network (SSRF).

A destination URL is user input that the media worker will connect to. Every
address the host resolves to must be global: loopback, RFC 1918, link-local
(169.254.169.254 is the cloud metadata service), CGNAT, multicast, reserved,
IPv6 ULA and site-local (fec0::/10), and the IPv4-mapped/compatible/NAT64/6to4 forms of any of those are
refused. This is checked when the destination is saved and again right
before each push connects, since DNS answers can change between the two.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable

from django.conf import settings

Resolver = Callable[[str, int], Iterable[str]]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_SIXTOFOUR = ipaddress.ip_network("2002::/16")
# Site-local (RFC 3879 deprecated it, but routers may still route it inside a site); Python counts it global.
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")


class PrivateAddressError(ValueError):
    pass


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if addr.ipv4_mapped:
        return addr.ipv4_mapped
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if addr.sixtofour:
        return addr.sixtofour
    if addr.teredo:
        return addr.teredo[1]
    # IPv4-compatible ::a.b.c.d (deprecated, still parsed by some stacks)
    if int(addr) >> 32 == 0 and int(addr) > 1:
        return ipaddress.IPv4Address(int(addr))
    return None


def is_global_address(text: str) -> bool:
    try:
        addr = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        if addr in _NAT64_LOCAL or addr in _SITE_LOCAL:
            return False
        inner = _embedded_ipv4(addr)
        if inner is not None:
            return is_global_address(str(inner))
    if isinstance(addr, ipaddress.IPv4Address) and addr in _CGNAT:
        return False
    return addr.is_global and not (addr.is_multicast or addr.is_reserved or addr.is_unspecified)


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def parse_host(host: str) -> str:
    """Hosts may be written as decimal, octal or hex integers; inet_aton reads them the way connect() would."""
    host = host.strip("[]")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return host


def check_host(
    host: str, port: int, *, resolver: Resolver | None = None, allow_private: bool | None = None
) -> list[str]:
    """Resolve `host` and return its addresses; raise PrivateAddressError if any is not global."""
    if allow_private is None:
        allow_private = settings.ALLOW_PRIVATE_DESTINATIONS
    host = parse_host(host)
    try:
        addresses = list((resolver or _system_resolver)(host, port))
    except (OSError, UnicodeError) as exc:
        raise PrivateAddressError(f"The host {host!r} cannot be resolved.") from exc
    if not addresses:
        raise PrivateAddressError(f"The host {host!r} has no addresses.")
    if not allow_private:
        allowed = [ipaddress.ip_network(n, strict=False) for n in settings.DESTINATION_ALLOWED_NETWORKS]
        bad = [
            a
            for a in addresses
            if not is_global_address(a) and not any(ipaddress.ip_address(a) in net for net in allowed)
        ]
        if bad:
            raise PrivateAddressError(
                f"The host {host!r} points to a private or reserved address ({bad[0]}); destinations must be public."
            )
    return addresses
