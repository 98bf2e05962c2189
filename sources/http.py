"""Guarded HTTP access for source URLs (placeholder: completed by the sources work)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from sources.errors import SpecError

BLOCKED_NAMES = {"localhost", "metadata.google.internal", "metadata"}


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Return the IP address that ``host`` spells, or None for a host name.

    Accepts the spellings that C resolvers accept for IPv4, such as ``2130706433``,
    ``0x7f000001`` and ``0177.0.0.1``, which all mean 127.0.0.1.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def address_problem(address, allowed_networks: list[str]) -> str | None:
    """Return why ``address`` is not allowed, or None when it is allowed."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for network in allowed_networks:
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return None
        except ValueError:
            continue
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network(
        "100.64.0.0/10"
    ):
        return "shared address space"
    if address.is_private or address.is_reserved:
        return "private"
    return None


def validate_url(url: str, allowed_networks: list[str], field: str = "url") -> None:
    """Check the form of a source URL before a task is stored.

    Raise ``SpecError`` for a scheme other than http(s), a missing host, or a
    literal address or well-known name that is not allowed. Names are resolved
    again at fetch time, on every redirect.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise SpecError(field, f"{url!r} must start with http:// or https://")
    host = parts.hostname
    if not host:
        raise SpecError(field, f"{url!r} has no host name")
    address = literal_address(host)
    if address is None:
        if host.lower().rstrip(".") in BLOCKED_NAMES and not allowed_networks:
            raise SpecError(field, f"destination not allowed: {host} (internal name)")
        return
    problem = address_problem(address, allowed_networks)
    if problem:
        raise SpecError(field, f"destination not allowed: {address} ({problem})")
