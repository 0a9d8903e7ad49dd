"""What the hub holds of one session while this node serves it (:class:`LiveSession`), and the small helpers on
it. A session's lasting state (status, start, gaps, chain, recording, enrolment) is in the stores, not here."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from proctor.events import severity_for
from proctor.settings import EngineSettings
from server.live.quality import StreamWatch

if TYPE_CHECKING:
    from aiortc import RTCDataChannel, RTCPeerConnection, RTCRtpReceiver

    from server.live.bounds import Burst, RateLimit
    from server.recording import SegmentRecorder

LATENCY_SAMPLES = 5000


class LiveError(Exception):
    """A request the live side refuses: becomes an HTTP error with ``status``."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def epoch(at: datetime) -> float:
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).timestamp()


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q / 100.0 * (len(s) - 1)))))]


def close_records(open_records: list[dict[str, Any]], t: float, reason: str) -> list[dict[str, Any]]:
    """Closing records for events whose analyser is gone (a dead worker, a node that went away)."""
    out = []
    for rec in open_records:
        end = max(float(rec["start"]), t)
        duration = round(end - float(rec["start"]), 3)
        out.append({**rec, "status": "closed", "end": round(end, 3), "duration": duration,
                    "severity": severity_for(rec["kind"], duration),
                    "evidence": {**rec.get("evidence", {}), "closed_by": reason}})
    return out


@dataclass
class LiveSession:
    sid: str
    student_id: int
    t0: float  # epoch seconds of the session's start
    engine_settings: dict[str, Any]
    # the connection (signalling.py); a new connection bumps the generation, so the old one's callbacks go quiet
    pc: RTCPeerConnection | None = None
    generation: int = 0
    channel: RTCDataChannel | None = None
    video_receiver: RTCRtpReceiver | None = None
    connections: int = 0
    # a "resumed" that could not be sent because the new connection's data channel was not open yet (media can
    # arrive first): sent right after its "proctoring" message
    pending_resumed: dict[str, Any] | None = None
    # media in (session.py)
    recorder: SegmentRecorder | None = None
    audio_batch: list[tuple[bytes, int]] = field(default_factory=list)
    audio_batch_t: float = 0.0
    audio_mime: str = "audio/opus"
    last_media_mono: float | None = None
    last_media_t: float | None = None
    video_frames_in: int = 0  # encoded video frames taken off the connection (counted here, not in the worker)
    video_bytes_in: int = 0  # ... and their bytes (the stream's quality is measured from both each heartbeat)
    stream: StreamWatch = field(default_factory=StreamWatch)  # the stream's quality as it arrives (quality.py)
    lost_t: float | None = None  # session time the stream was lost (None while it flows)
    lost_mono: float | None = None
    open_signals: dict[str, float] = field(default_factory=dict)  # browser signals started, not ended
    bursts: dict[str, Burst] = field(default_factory=dict)  # browser signals gathered in their window (bounds.py)
    limits: dict[str, RateLimit] = field(default_factory=dict)  # the page's check requests, per request kind
    last_scored_mono: float | None = None  # when the provisional score was last computed
    scored_events: int = 0  # events_stored when it was
    ending: bool = False
    created_mono: float = field(default_factory=time.monotonic)
    # checks (checks.py)
    scanning: bool = False  # between the page's room_scan start and end
    in_exam: bool = False  # the page said the exam started (rules ask for re-scans only then)
    last_rescan_mono: float | None = None  # when a rule last asked for a re-scan
    # what the analysis reported (hub.py)
    counters: dict[str, int] = field(default_factory=dict)
    counters_at: float | None = None  # time.monotonic() when the worker finished the frame the counters are of
    # (monotonic time, seconds) samples: a frame's arrival -> its analysis result back in this process, and
    # arrival -> the events it raised stored
    frame_latency: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    event_latency: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    events_stored: int = 0
    open_events: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> its "open" record
    kinds_raised: dict[str, int] = field(default_factory=dict)
    analysis_error: str | None = None
    _engine: EngineSettings | None = field(default=None, repr=False)

    def now_t(self) -> float:
        return time.time() - self.t0

    def engine(self) -> EngineSettings:
        """The session's engine settings as an object, made once: building one reads the environment (pydantic-
        settings, ~14 ms), too slow for the event loop at every provisional score."""
        if self._engine is None:
            self._engine = EngineSettings.model_validate(self.engine_settings)
        return self._engine

    def stats(self, since: float | None = None, samples: bool = False) -> dict[str, Any]:
        """Live figures; latencies of frames analysed after ``since`` (time.monotonic(), which is one clock for
        every process of the machine)."""
        fl = [v for at, v in self.frame_latency if since is None or at >= since]
        el = [v for at, v in self.event_latency if since is None or at >= since]
        rec = self.recorder
        return {
            "counters": dict(self.counters), "counters_at": self.counters_at, "video_frames_in": self.video_frames_in,
            "frame_latency_p50_s": percentile(fl, 50), "frame_latency_p95_s": percentile(fl, 95),
            "event_latency_p95_s": percentile(el, 95), "events_stored": self.events_stored,
            "kinds_raised": dict(self.kinds_raised), "connections": self.connections,
            "recording": None if rec is None else {"segments": rec.segments_written,
                                                   "mux_cpu_s": round(rec.mux_seconds, 4),
                                                   "dropped_before_keyframe": rec.dropped_before_keyframe},
            "analysis_error": self.analysis_error, "stream_lost": self.lost_t is not None,
            "stream": None if self.stream.last is None else self.stream.last.to_dict(),
            **({"frame_latency_samples": fl, "event_latency_samples": el} if samples else {}),
        }


@dataclass(frozen=True)
class LoadedEnrolment:
    """A student's stored enrolment: the engine's ``Enrolment.to_dict()`` and the sha256 of its photos."""

    data: dict[str, Any]
    photo_sha256s: list[str]
