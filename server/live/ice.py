"""ICE: which remote candidates the server checks, and host candidates on loopback for tests.

**Remote candidates** (issue 12): the student's offer lists the addresses the server will send STUN checks to;
an attacker's offer could list internal hosts (a port scanner driven from the server). With
:func:`filter_remote_candidates` the server checks only candidates in ranges it is configured to reach: its own
networks (so a college's LAN deployment keeps working), globally routable addresses and
``ServerSettings.live_ice_allowed_networks``; never loopback (unless ``live_ice_loopback``), link-local or cloud
metadata addresses unless listed. The check wraps aioice's ``validate_remote_candidate``, which every remote
candidate (SDP, trickled or mDNS-resolved) passes through; a refused candidate is dropped as invalid. Peer-
reflexive candidates are learned from where a check actually came from, so they are not filtered.

**Loopback host candidates**:

aioice never offers 127.0.0.1 as a host candidate. In a loopback-only network namespace (the test harness,
``tests/live/netns.py``) that leaves no candidate at all, so :func:`allow_loopback_candidates` makes aioice
also offer 127.0.0.1. It is switched on by ``ServerSettings.live_ice_loopback`` (off by default) and is
process-wide: aioice reads its host addresses through a module-level function.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

import aioice.ice
import ifaddr

from server.security.netcheck import AddressPolicy

log = logging.getLogger(__name__)

_original = aioice.ice.get_host_addresses
_original_validate = aioice.ice.validate_remote_candidate
_policy: AddressPolicy | None = None


def own_networks() -> list[str]:
    """The networks of this machine's interfaces (not loopback, not link-local)."""
    out = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            address = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            try:
                net = ipaddress.ip_network(f"{address.split('%')[0]}/{ip.network_prefix}", strict=False)
            except ValueError:
                continue
            if not (net.network_address.is_loopback or net.network_address.is_link_local):
                out.append(str(net))
    return out


def candidate_policy(settings: Any) -> AddressPolicy:
    """Own networks + public addresses + configured networks; loopback only with ``live_ice_loopback``."""
    return AddressPolicy.of(allow_loopback=bool(settings.live_ice_loopback),
                            networks=[*own_networks(), *settings.live_ice_allowed_networks])


def _validate(candidate: Any, host: str) -> str:
    address = _original_validate(candidate, host)
    policy = _policy
    if policy is not None and not policy.allows(ipaddress.ip_address(address)):
        raise ValueError(f"{address} is outside the address ranges this server checks")
    return address


def filter_remote_candidates(settings: Any) -> AddressPolicy:
    """Check only remote candidates the settings allow (process-wide, like the loopback switch below)."""
    global _policy
    _policy = candidate_policy(settings)
    aioice.ice.validate_remote_candidate = _validate
    log.info("ICE remote candidates limited", extra={"networks": [str(n) for n in _policy.networks],
                                                     "loopback": _policy.allow_loopback})
    return _policy


def _with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    addresses = _original(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
    if use_ipv4 and "127.0.0.1" not in addresses:
        addresses.append("127.0.0.1")
    return addresses


def allow_loopback_candidates(enabled: bool = True) -> None:
    """Offer 127.0.0.1 as an ICE host candidate (``enabled=False`` restores aioice's behaviour)."""
    aioice.ice.get_host_addresses = _with_loopback if enabled else _original
    log.info("ICE loopback host candidates %s", "on" if enabled else "off")
