"""The test harness's private network: a loopback-only network namespace.

WebRTC between a server and a browser on one machine needs ICE candidates both sides can reach. In a fresh
network namespace the only interface is ``lo``: :func:`enter_loopback_netns` moves the calling process (call it
first thing, while it has one thread) into a new one and brings ``lo`` up; every process it starts afterwards
(analysis workers, uvicorn, Chromium) lives there too. The server then offers 127.0.0.1
(``ServerSettings.live_ice_loopback``), Chromium does with ``--allow-loopback-in-peer-connection``.

Needs root (CAP_SYS_ADMIN), as the developers' machines and CI have. No iproute2 needed: ``lo`` is brought up
with the SIOCSIFFLAGS ioctl.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import socket
import struct
import threading

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


class NetnsError(RuntimeError):
    pass


def enter_loopback_netns() -> None:
    if threading.active_count() > 1:
        raise NetnsError("enter the network namespace before any thread starts")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise NetnsError(f"unshare(CLONE_NEWNET) failed: {os.strerror(err)} (the live tests need root)")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifreq = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, ifreq))[1]
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def interfaces() -> list[str]:
    return [name for _, name in socket.if_nameindex()]
