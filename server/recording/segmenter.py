"""Remux a session's encoded media packets into WebM segments, each starting with a video keyframe.

The live server gives :class:`SegmentRecorder` every encoded video frame (VP8, as it came off the wire) and
every Opus packet, with the session time at which it arrived. A segment is closed once it is at least
``segment_s`` long *and* a keyframe arrives (the recorder asks the sender for one through
``request_keyframe``, i.e. an RTCP PLI), so every segment decodes on its own. A closed segment goes to the
``store`` callback (sha256 + bytes + manifest row) off the event loop; only the segment in flight is in
memory, so a crash or a lost connection loses at most that one.

Muxing costs microseconds per packet: nothing is decoded or encoded here.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import av

log = logging.getLogger(__name__)

MS = Fraction(1, 1000)
KEYFRAME_RETRY_S = 1.0


def is_vp8_keyframe(data: bytes) -> bool:
    """RFC 6386 frame tag: bit 0 of the first byte is 0 for a key frame."""
    return bool(data) and not (data[0] & 0x01)


@dataclass(frozen=True)
class SegmentResult:
    index: int
    data: bytes
    sha256: str
    t_start: float
    t_end: float
    video_frames: int
    audio_packets: int


class _Segment:
    def __init__(self, index: int, t_start: float, width: int, height: int, with_audio: bool):
        self.index = index
        self.t_start = t_start
        self.t_end = t_start
        self.buf = io.BytesIO()
        self.container = av.open(self.buf, "w", format="webm")
        self.video = self.container.add_stream("libvpx", rate=15)
        self.video.width, self.video.height, self.video.pix_fmt = width, height, "yuv420p"
        self.video.time_base = MS
        self.audio = None
        if with_audio:
            self.audio = self.container.add_stream("libopus", rate=48000)
            self.audio.layout = "stereo"
            self.audio.time_base = MS
        self.last_pts = {"video": -1, "audio": -1}
        self.video_frames = 0
        self.audio_packets = 0

    def _mux(self, stream, kind: str, data: bytes, t: float, key: bool = False) -> None:
        pts = max(int(round((t - self.t_start) * 1000)), self.last_pts[kind] + 1)
        self.last_pts[kind] = pts
        packet = av.Packet(data)
        packet.stream = stream
        packet.pts = packet.dts = pts
        packet.time_base = MS
        if key:
            packet.is_keyframe = True
        self.container.mux(packet)
        self.t_end = max(self.t_end, t)

    def add_video(self, data: bytes, t: float, key: bool) -> None:
        self._mux(self.video, "video", data, t, key)
        self.video_frames += 1

    def add_audio(self, data: bytes, t: float) -> None:
        if self.audio is not None:
            self._mux(self.audio, "audio", data, t)
            self.audio_packets += 1

    def close(self) -> SegmentResult:
        self.container.close()
        data = self.buf.getvalue()
        return SegmentResult(self.index, data, hashlib.sha256(data).hexdigest(), round(self.t_start, 3),
                             round(self.t_end, 3), self.video_frames, self.audio_packets)


class SegmentRecorder:
    """One session's recording. Not thread-safe: call it from the event loop only."""

    def __init__(self, store: Callable[[SegmentResult], None], request_keyframe: Callable[[], None],
                 segment_s: float = 10.0, first_index: int = 0, width: int = 640, height: int = 480,
                 with_audio: bool = True):
        self.store = store
        self.request_keyframe = request_keyframe
        self.segment_s = segment_s
        self.next_index = first_index
        self.size = (width, height)
        self.with_audio = with_audio
        self.segment: _Segment | None = None
        self._asked_at: float | None = None
        self.dropped_before_keyframe = 0
        self.mux_seconds = 0.0  # CPU spent muxing, for the cost figure
        self.segments_written = 0
        self.last_keyframe: bytes | None = None

    def _ask_keyframe(self) -> None:
        now = time.monotonic()
        if self._asked_at is None or now - self._asked_at >= KEYFRAME_RETRY_S:
            self._asked_at = now
            self.request_keyframe()

    def video(self, data: bytes, t: float) -> None:
        start = time.process_time()
        key = is_vp8_keyframe(data)
        if self.segment is None:
            if not key:  # a segment must start with a keyframe
                self.dropped_before_keyframe += 1
                self._ask_keyframe()
                return
            self._open(t)
        elif t - self.segment.t_start >= self.segment_s:
            if key:
                self._roll()
                self._open(t)
            else:
                self._ask_keyframe()
        if key:
            self._asked_at = None
            self.last_keyframe = data  # its header gives the stream's frame size (server/live/quality.py)
        self.segment.add_video(data, t, key)
        self.mux_seconds += time.process_time() - start

    def audio(self, data: bytes, t: float) -> None:
        if self.segment is not None:
            start = time.process_time()
            self.segment.add_audio(data, t)
            self.mux_seconds += time.process_time() - start

    def _open(self, t: float) -> None:
        self.segment = _Segment(self.next_index, t, *self.size, with_audio=self.with_audio)
        self.next_index += 1

    def _roll(self) -> None:
        seg, self.segment = self.segment, None
        if seg is None or seg.video_frames == 0:
            return
        try:
            result = seg.close()
        except Exception:  # noqa: BLE001 - a broken segment must not stop the recording
            log.exception("closing recording segment %d failed", seg.index)
            return
        self.segments_written += 1
        self.store(result)

    def close(self) -> None:
        """Close the segment in flight (the connection ended or the exam finished)."""
        self._roll()
