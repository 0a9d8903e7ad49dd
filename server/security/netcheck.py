"""Which network addresses the server may connect to on someone else's say-so (webhook URLs, ICE candidates).

Every textual form of an address is normalised the way the C library reads it (decimal ``2130706433``, hex
``0x7f000001``, short ``127.1``, ``0``, octal ``0177.0.0.1``, IPv4-mapped IPv6), names are resolved, and a target
is refused unless *every* address it resolves to is allowed. The caller then connects to the address that was
checked (no second lookup an attacker's DNS could answer differently).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class RefusedTarget(ValueError):
    """A target the server will not connect to: ``category`` is ``refused_address`` or ``dns_failed``."""

    def __init__(self, category: str, message: str):
        super().__init__(message)
        self.category = category


def normalise_ip(text: str) -> IP | None:
    """The address a numeric host string means (every form inet_aton accepts), or None for a name."""
    text = text.strip().strip("[]")
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        try:
            ip = ipaddress.ip_address(socket.inet_aton(text))
        except (OSError, ValueError):
            return None
    return unmap(ip)


def unmap(ip: IP) -> IP:
    """IPv4-mapped / -compatible / 6to4 / NAT64-style IPv6 addresses judged as the IPv4 address they carry."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
    return ip


def is_public(ip: IP) -> bool:
    """Globally routable unicast: not private, loopback, link-local, shared (100.64/10), multicast, reserved."""
    ip = unmap(ip)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip in METADATA)


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses always; RFC 1918/ULA/shared ranges with ``allow_private``; loopback with
    ``allow_loopback``; extra ``networks`` (CIDRs). Link-local and cloud metadata only if listed in networks."""

    allow_private: bool = False
    allow_loopback: bool = False
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def of(cls, allow_private: bool = False, allow_loopback: bool = False,
           networks: list[str] | tuple[str, ...] = ()) -> "AddressPolicy":
        return cls(allow_private, allow_loopback, tuple(ipaddress.ip_network(n, strict=False) for n in networks))

    def allows(self, ip: IP) -> bool:
        ip = unmap(ip)
        if any(ip in n for n in self.networks):
            return True
        if is_public(ip):
            return True
        if ip.is_loopback:
            return self.allow_loopback
        if ip.is_link_local or ip in METADATA or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
            return False
        return self.allow_private and ip.is_private


def system_resolver(host: str, port: int) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def resolve_checked(host: str, port: int, policy: AddressPolicy, resolver: Resolver | None = None) -> IP:
    """The address to connect to for ``host``: every address it resolves to must be allowed."""
    ip = normalise_ip(host)
    if ip is not None:
        addresses = [ip]
    else:
        try:
            found = (resolver or system_resolver)(host, port)
            addresses = [unmap(ipaddress.ip_address(a.split("%", 1)[0])) for a in found]
        except (OSError, UnicodeError, ValueError) as exc:
            raise RefusedTarget("dns_failed", f"{host} does not resolve") from exc
        if not addresses:
            raise RefusedTarget("dns_failed", f"{host} does not resolve")
    bad = [a for a in addresses if not policy.allows(a)]
    if bad:
        raise RefusedTarget("refused_address", f"{host} resolves to an address the server does not connect to")
    return addresses[0]


@dataclass(frozen=True)
class PinnedTarget:
    url: str  # the URL with the checked address in place of the host name
    host_header: str  # what the Host header says (the original host[:port])
    sni_hostname: str | None  # https: the name TLS sends and verifies the certificate for


def pin_url(url: str, policy: AddressPolicy, resolver: Resolver | None = None) -> PinnedTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedTarget("refused_address", "not an http(s) URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    ip = resolve_checked(parts.hostname, port, policy, resolver)
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    netloc = f"{literal}:{port}"
    host_header = parts.hostname + (f":{parts.port}" if parts.port else "")
    pinned = parts._replace(netloc=netloc).geturl()
    is_name = normalise_ip(parts.hostname) is None
    return PinnedTarget(pinned, host_header, parts.hostname if parts.scheme == "https" and is_name else None)
