"""The camera stream's quality as it arrives, measured by the server: context for the proctor, never misconduct.

The page may say its uplink is poor (its ``stream_poor`` / ``uplink_changed`` signals, ``browser.py``): that is the
page's claim. What the proctor is shown as measured comes from here. Nothing is added to the per-frame path but
the counters the session keeps anyway (``LiveSession.video_frames_in``, ``video_bytes_in``: the encoded frames'
bytes, i.e. what the browser's encoder sent, without RTP headers) and the recorder's last keyframe (it looks at
every frame's keyframe bit already); once per heartbeat (``upkeep.py``) :meth:`StreamWatch.sample` turns their
change since the last heartbeat into a window's kbit/s, frames/s and frame size (read from the VP8 keyframe
header, RFC 6386 9.1) and judges it against ``ServerSettings.live_stream_min_*``.

A stretch of poor windows lasting at least ``live_stream_poor_s`` becomes one ``stream_poor`` event (source
``server``) when it ends: the stream recovers, is lost (``stream_lost`` is its own event) or the session ends.
``proctor.events.CONTEXT_KINDS`` keeps it out of the integrity score.

The thresholds' defaults follow ``benchmarks/bench_bitrate.py`` (README, "Poor connections"): the engine still
holds (faces 89-93 % in agreement with the clean clips, 97 % of identity checks matching) at 100 kbit/s, 320x240
and 7.5 fps, the lowest variant measured; below 100 kbit/s, below 320 pixels wide, or below the 5 frames a second
the analysis samples, the engine works on less than it was measured with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VP8_START_CODE = b"\x9d\x01\x2a"


def vp8_frame_size(keyframe: bytes | None) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe's header (RFC 6386 9.1), None if it is not one."""
    if not keyframe or len(keyframe) < 10 or keyframe[0] & 0x01 or keyframe[3:6] != VP8_START_CODE:
        return None
    return (keyframe[6] | keyframe[7] << 8) & 0x3FFF, (keyframe[8] | keyframe[9] << 8) & 0x3FFF


@dataclass(frozen=True)
class Thresholds:
    min_kbps: float
    min_fps: float
    min_width: int
    poor_s: float  # a poor stretch this long is recorded

    @classmethod
    def of(cls, settings: Any) -> "Thresholds":
        return cls(settings.live_stream_min_kbps, settings.live_stream_min_fps, settings.live_stream_min_width,
                   settings.live_stream_poor_s)


@dataclass(frozen=True)
class Window:
    """What arrived between two heartbeats (session time ``start``..``end``)."""

    start: float
    end: float
    kbps: float
    fps: float
    size: tuple[int, int] | None  # of the last keyframe; None before one (or without a recorder)

    def reasons(self, th: Thresholds) -> list[str]:
        out = []
        if self.kbps < th.min_kbps:
            out.append("bitrate")
        if self.fps < th.min_fps:
            out.append("frame_rate")
        if self.size is not None and self.size[0] < th.min_width:
            out.append("frame_size")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "kbps": round(self.kbps, 1),
                "fps": round(self.fps, 2), "width": None if self.size is None else self.size[0],
                "height": None if self.size is None else self.size[1]}


@dataclass(frozen=True)
class PoorStretch:
    start: float
    end: float
    details: dict[str, Any]


@dataclass
class StreamWatch:
    """One session's measurement (held in :class:`server.live.state.LiveSession`)."""

    mark: tuple[float, float, int, int, int] | None = None  # (monotonic, session t, frames, bytes, generation)
    last: Window | None = None  # the last window measured
    poor: list[tuple[Window, list[str]]] = field(default_factory=list)  # the poor stretch going on

    def sample(self, mono: float, t: float, frames: int, nbytes: int, generation: int,
               size: tuple[int, int] | None, th: Thresholds, flowing: bool) -> PoorStretch | None:
        """One heartbeat: measure the window since the last one; the poor stretch that ended now, if it counts.
        ``flowing``: media arrives on the current connection (a lost stream is not judged: it is ``stream_lost``)."""
        mark, self.mark = self.mark, (mono, t, frames, nbytes, generation)
        if not flowing:
            self.mark = None
            return self.close(th)
        if mark is None or mark[4] != generation or mono - mark[0] < 1.0 or frames < mark[2]:
            return None  # the first heartbeat of a connection: the next one measures
        seconds = mono - mark[0]
        w = Window(mark[1], t, (nbytes - mark[3]) * 8 / 1000 / seconds, (frames - mark[2]) / seconds, size)
        self.last = w
        reasons = w.reasons(th)
        if reasons:
            self.poor.append((w, reasons))
            return None
        return self.close(th)

    def close(self, th: Thresholds) -> PoorStretch | None:
        """End the poor stretch going on (the stream recovered, was lost or the session ends); it ends where its
        last measured window ended, and counts if it lasted ``th.poor_s``."""
        poor, self.poor = self.poor, []
        if not poor or poor[-1][0].end - poor[0][0].start < th.poor_s:
            return None
        windows = [w for w, _ in poor]
        seconds = sum(w.end - w.start for w in windows) or 1e-6
        sizes = [w.size for w in windows if w.size is not None]
        smallest = min(sizes) if sizes else None
        return PoorStretch(windows[0].start, windows[-1].end, {
            "measured_by": "server", "windows": len(windows),
            "reasons": sorted({r for _, rs in poor for r in rs}),
            "kbps": round(sum(w.kbps * (w.end - w.start) for w in windows) / seconds, 1),
            "kbps_min": round(min(w.kbps for w in windows), 1),
            "fps": round(sum(w.fps * (w.end - w.start) for w in windows) / seconds, 2),
            "fps_min": round(min(w.fps for w in windows), 2),
            "width": None if smallest is None else smallest[0], "height": None if smallest is None else smallest[1],
            "thresholds": {"min_kbps": th.min_kbps, "min_fps": th.min_fps, "min_width": th.min_width,
                           "poor_s": th.poor_s},
        })
