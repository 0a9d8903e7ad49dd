"""The data channel out: every message the server sends to a student's page goes through :func:`send_to_student`
(the protocol's messages are built in :mod:`server.live.protocol`)."""

from __future__ import annotations

import logging
from typing import Any

from server.live import protocol
from server.live.state import LiveSession

log = logging.getLogger(__name__)


def connected(s: LiveSession | None) -> bool:
    return s is not None and s.channel is not None and s.channel.readyState == "open"


def send_to_student(s: LiveSession | None, message: dict[str, Any]) -> bool:
    """Send one message to the session's page; False if its data channel is not open (nothing is queued)."""
    if s is None or s.channel is None or s.channel.readyState != "open":
        return False
    try:
        s.channel.send(protocol.dumps(message))
    except Exception:  # noqa: BLE001 - a channel closing under us
        log.debug("data channel send failed", exc_info=True)
        return False
    return True
