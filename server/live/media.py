"""Taking encoded frames off aiortc's receivers, before aiortc decodes them.

aiortc reassembles RTP into encoded frames and puts ``(codec, JitterFrame)`` on its receiver's decoder queue,
which a decoder thread per track drains. :func:`tap_receiver` swaps that queue for a :class:`TapQueue` that
hands every encoded frame to the server (recording + the analysis worker, which decodes in its own process)
and lets only the end-of-stream marker through, so the server process never decodes media.
"""

from __future__ import annotations

import asyncio
import logging
import queue
from typing import Any, Callable

log = logging.getLogger(__name__)

_QUEUE_ATTR = "_RTCRtpReceiver__decoder_queue"


class TapQueue(queue.Queue):
    def __init__(self, on_frame: Callable[[str, bytes, int], None]):
        super().__init__()
        self.on_frame = on_frame

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:  # the receiver stops: let its decoder thread end
            super().put(item, block, timeout)
            return
        codec, frame = item
        try:
            self.on_frame(codec.mimeType, frame.data, frame.timestamp)
        except Exception:  # noqa: BLE001 - never break aiortc's receive path
            log.exception("handling an encoded %s frame failed", codec.mimeType)


def tap_receiver(receiver: Any, on_frame: Callable[[str, bytes, int], None]) -> None:
    """Call before the receiver starts (i.e. in the peer connection's ``track`` handler)."""
    if not hasattr(receiver, _QUEUE_ATTR):
        raise RuntimeError("this aiortc version has no receiver decoder queue to tap (aiortc 1.16 is pinned)")
    setattr(receiver, _QUEUE_ATTR, TapQueue(on_frame))


def request_keyframe(receiver: Any) -> None:
    """Send an RTCP PLI for every SSRC the receiver heard in the last seconds."""
    for source in receiver.getSynchronizationSources():
        asyncio.ensure_future(receiver._send_rtcp_pli(source.source))
