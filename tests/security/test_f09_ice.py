"""Finding 9: the server sent STUN to any address in the student's offer. Remote ICE candidates are now checked
only in ranges the server is configured to reach: its own networks, public addresses and
``live_ice_allowed_networks``; never loopback (unless ``live_ice_loopback``, the tests' switch), link-local or
cloud metadata."""

from __future__ import annotations

import asyncio
import ipaddress

import aioice
import aioice.ice
import pytest

from server.live import ice
from server.settings import ServerSettings


@pytest.fixture(autouse=True)
def _restore():
    before = aioice.ice.validate_remote_candidate, ice._policy
    yield
    aioice.ice.validate_remote_candidate, ice._policy = before


def _added(hosts: list[str]) -> list[str]:
    async def run() -> list[str]:
        conn = aioice.Connection(ice_controlling=True)
        try:
            for i, host in enumerate(hosts):
                await conn.add_remote_candidate(aioice.Candidate(foundation=str(i), component=1, transport="udp",
                                                                 priority=1, host=host, port=3478, type="host"))
            return [c.host for c in conn.remote_candidates]
        finally:
            await conn.close()

    return asyncio.run(run())


INTERNAL = ["127.0.0.1", "169.254.169.254", "10.250.0.9", "192.168.77.1", "100.64.0.1", "fe80::1", "::1",
            "224.0.0.251", "0.0.0.0"]


def test_offers_cannot_aim_the_server_at_internal_hosts() -> None:
    policy = ice.filter_remote_candidates(ServerSettings())
    # (an address inside one of this machine's own networks would be allowed: none of these is, here)
    internal = [h for h in INTERNAL if not any(ipaddress.ip_address(h) in n for n in policy.networks)]
    assert len(internal) >= 7
    assert _added(internal + ["8.8.8.8", "2001:4860:4860::8888"]) == ["8.8.8.8", "2001:4860:4860::8888"]


def test_the_servers_own_network_and_configured_ranges_are_checked() -> None:
    own = ice.own_networks()
    ice.filter_remote_candidates(ServerSettings(live_ice_allowed_networks=["10.250.0.0/16"]))
    hosts = ["10.250.0.9"] + [str(next(ipaddress.ip_network(n).hosts())) for n in own[:1]]
    assert _added(hosts) == hosts


def test_loopback_only_with_the_test_switch() -> None:
    ice.filter_remote_candidates(ServerSettings(live_ice_loopback=False))
    assert _added(["127.0.0.1"]) == []
    ice.filter_remote_candidates(ServerSettings(live_ice_loopback=True))
    assert _added(["127.0.0.1", "169.254.169.254"]) == ["127.0.0.1"]
