"""ICE host candidates on loopback, for tests and single-machine benchmarks only.

aioice never offers 127.0.0.1 as a host candidate. In a loopback-only network namespace (the test harness,
``tests/live/netns.py``) that leaves no candidate at all, so :func:`allow_loopback_candidates` makes aioice
also offer 127.0.0.1. It is switched on by ``ServerSettings.live_ice_loopback`` (off by default) and is
process-wide: aioice reads its host addresses through a module-level function.
"""

from __future__ import annotations

import logging

import aioice.ice

log = logging.getLogger(__name__)

_original = aioice.ice.get_host_addresses


def _with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    addresses = _original(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
    if use_ipv4 and "127.0.0.1" not in addresses:
        addresses.append("127.0.0.1")
    return addresses


def allow_loopback_candidates(enabled: bool = True) -> None:
    """Offer 127.0.0.1 as an ICE host candidate (``enabled=False`` restores aioice's behaviour)."""
    aioice.ice.get_host_addresses = _with_loopback if enabled else _original
    log.info("ICE loopback host candidates %s", "on" if enabled else "off")
