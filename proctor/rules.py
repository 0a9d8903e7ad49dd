"""Rules: turn per-frame and per-window signals into debounced, timestamped events.

Each rule is a :class:`Sustained` condition: it raises an event once the condition has held for the rule's
``min_duration_s`` (the event starts when the condition first held) and closes it once the condition has been
false for longer than ``settings.merge_gap_s``. Every emission (open, then closed) is returned so the caller can
store it the moment it happens.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from statistics import median
from typing import Any, Callable

from proctor.events import EVENT_KINDS, Event
from proctor.settings import EngineSettings
from proctor.signals import AudioSignals, FrameSignals, HeadPose, IdentityCheck

SERIES_SECONDS = 120.0  # how much signal history is kept for evidence
SERIES_MARGIN_S = 2.0  # evidence series cover the event plus this much either side
SERIES_MAX_POINTS = 150


class EventIds:
    """Event ids of one analyser: ``<kind>-<n>``, with ``.<tag>`` appended when a tag is set (a resumed session's
    new analyser, so its ids cannot repeat those already in the chain)."""

    def __init__(self, tag: str | None = None) -> None:
        self.n = 0
        self.tag = tag

    def next(self, kind: str) -> str:
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r} (proctor.events.EVENT_KINDS lists them)")
        self.n += 1
        return f"{kind}-{self.n}" if not self.tag else f"{kind}-{self.n}.{self.tag}"


@dataclass
class Sustained:
    """A debounced condition that becomes an event."""

    kind: str
    source: str
    min_duration: float
    release: float
    thresholds: dict[str, Any]
    ids: EventIds
    model_versions: dict[str, str]
    max_step: float = 1.0  # a sample covers at most this long (a gap in the stream does not extend an event)
    since: float | None = None
    last_end: float | None = None
    event: Event | None = None
    confidences: list[float] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def update(self, t: float, dt: float, active: bool, confidence: float = 1.0, **details: Any) -> list[Event]:
        out: list[Event] = []
        if active:
            if self.since is None or (self.last_end is not None and t - self.last_end > self.release):
                out += self._close()
                self.since, self.confidences, self.details = t, [], {}
            self.last_end = t + min(max(dt, 0.0), self.max_step)
            self.confidences.append(confidence)
            for k, v in details.items():
                self.details.setdefault(k, v)
            if self.event is None and self.last_end - self.since >= self.min_duration:
                self.event = Event(
                    id=self.ids.next(self.kind),
                    kind=self.kind,
                    start=self.since,
                    end=None,
                    confidence=_mean(self.confidences),
                    source=self.source,
                    evidence={"details": dict(self.details)},
                    thresholds=dict(self.thresholds),
                    model_versions=dict(self.model_versions),
                )
                out.append(self.event)
        elif self.since is not None and self.last_end is not None and t - self.last_end > self.release:
            out += self._close()
        return out

    def _close(self) -> list[Event]:
        ev, self.event = self.event, None
        since, last_end = self.since, self.last_end
        self.since = self.last_end = None
        if ev is None or last_end is None or since is None:
            return []
        ev.end = last_end
        ev.status = "closed"
        ev.confidence = _mean(self.confidences)
        return [ev]

    def finish(self, t: float) -> list[Event]:
        return self._close()


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


class IdentityRun:
    """``identity_mismatch`` once ``min_mismatches`` checks in a row, spanning at least ``min_duration_s``, find no
    face matching the enrolment (someone else in the picture for a moment, a cut, is not an event).

    The event starts at the first mismatching check of the run; ``min_matches`` matching checks in a row close
    it, at the first of them (one chance match of a stranger does not end it, as one bad frame of the student
    does not start one).
    """

    def __init__(self, min_mismatches: int, interval: float, thresholds: dict[str, Any], ids: EventIds,
                 model_versions: dict[str, str], min_matches: int = 1, min_duration_s: float = 0.0):
        self.min_mismatches = max(1, min_mismatches)
        self.min_matches = max(1, min_matches)
        self.min_duration_s = max(0.0, min_duration_s)
        self.interval = interval
        self.thresholds = thresholds
        self.ids = ids
        self.model_versions = model_versions
        self.misses: list[tuple[float, IdentityCheck]] = []
        self.matches: list[float] = []  # times of the matching checks in a row while an event is open
        self.event: Event | None = None

    @property
    def unresolved(self) -> bool:
        """The last check mismatched, or an event is open: the student should be checked again soon."""
        return self.event is not None or bool(self.misses)

    def update(self, t: float, check: IdentityCheck) -> list[Event]:
        if check.match:
            if self.event is None:
                self.misses, self.matches = [], []
                return []
            self.matches.append(t)
            if len(self.matches) < self.min_matches:
                return []
            out = self.finish(self.matches[0])
            self.misses, self.matches = [], []
            return out
        self.matches = []
        self.misses.append((t, check))
        distances = [c.distance for _, c in self.misses]
        conf = _mean([min(1.0, 0.5 + 2.0 * (c.distance - c.threshold) / max(c.threshold, 1e-6)) for _, c in self.misses])
        details = {"checks": len(self.misses), "min_distance": round(min(distances), 4),
                   "max_distance": round(max(distances), 4), "threshold": check.threshold}
        if (self.event is None and len(self.misses) >= self.min_mismatches
                and t - self.misses[0][0] >= self.min_duration_s):
            self.event = Event(
                id=self.ids.next("identity_mismatch"), kind="identity_mismatch", start=self.misses[0][0], end=None,
                confidence=conf, source="identity", evidence={"details": details},
                thresholds=dict(self.thresholds), model_versions=dict(self.model_versions),
            )
            return [self.event]
        if self.event is not None:
            self.event.confidence = conf
            self.event.evidence["details"] = details
        return []

    def finish(self, t: float) -> list[Event]:
        ev, self.event = self.event, None
        if ev is None:
            return []
        # the last mismatching check stands for the interval after it, up to the check or end that closes it
        ev.end = max(ev.start, min(t, self.misses[-1][0] + self.interval)) if self.misses else t
        ev.status = "closed"
        return [ev]


class NeutralPose:
    """The student's own 'looking at the screen' head pose: the median over the first seconds with one face."""

    def __init__(self, duration_s: float, min_frames: int, fixed: HeadPose | None = None):
        self.duration_s = duration_s
        self.min_frames = min_frames
        self.samples: list[tuple[float, float]] = []
        self.started: float | None = None
        self.pose: HeadPose | None = fixed

    @property
    def ready(self) -> bool:
        return self.pose is not None

    def offer(self, t: float, pose: HeadPose) -> None:
        if self.pose is not None:
            return
        if self.started is None:
            self.started = t
        self.samples.append((pose.yaw, pose.pitch))
        if t - self.started >= self.duration_s and len(self.samples) >= self.min_frames:
            self.pose = HeadPose(median(s[0] for s in self.samples), median(s[1] for s in self.samples), 0.0)

    def to_dict(self) -> dict[str, Any] | None:
        if self.pose is None:
            return None
        return {"yaw": round(self.pose.yaw, 1), "pitch": round(self.pose.pitch, 1), "frames": len(self.samples)}


class RuleEngine:
    """All the rules of one session. Feed it frames, identity checks and audio windows in time order."""

    def __init__(
        self,
        settings: EngineSettings | None = None,
        model_versions: dict[str, str] | None = None,
        neutral_pose: HeadPose | None = None,
        camera_classifier: Callable[[Any, EngineSettings], str | None] | None = None,
    ):
        s = self.settings = settings or EngineSettings()
        self.ids = EventIds()
        mv = self.model_versions = model_versions or {}
        gap = s.merge_gap_s

        def rule(kind: str, source: str, cfg: Any, release: float = gap) -> Sustained:
            return Sustained(kind, source, cfg.min_duration_s, release, cfg.model_dump(), self.ids, mv)

        self.face_missing = rule("face_missing", "video", s.face_missing)
        self.multiple_faces = rule("multiple_faces", "video", s.multiple_faces)
        self.looking_away = rule("looking_away", "video", s.looking_away)
        self.camera_blocked = rule("camera_blocked", "video", s.camera_blocked)
        self.body_movement = rule("body_movement", "video", s.body_movement)
        self.speech = rule("speech", "audio", s.speech, release=max(gap, 0.6))
        self.noise = rule("noise", "audio", s.noise)
        self.identity = IdentityRun(s.identity.min_mismatches, s.identity.check_interval_s, s.identity.model_dump(),
                                    self.ids, mv, min_matches=s.identity.min_matches,
                                    min_duration_s=s.identity.min_duration_s)
        self.neutral = NeutralPose(s.calibration.duration_s, s.calibration.min_frames, neutral_pose)
        self.camera_classifier = camera_classifier
        self.frame_series: deque[dict[str, Any]] = deque()
        self.audio_series: deque[dict[str, Any]] = deque()
        self._audio_bucket: list[AudioSignals] = []
        self._last_frame_t: float | None = None
        self._video_rules = [self.face_missing, self.multiple_faces, self.looking_away, self.camera_blocked,
                             self.body_movement]

    # --- frames -------------------------------------------------------------------------------------------
    def push_frame(self, f: FrameSignals) -> list[Event]:
        s = self.settings
        dt = 1.0 / s.analysis_fps if self._last_frame_t is None else f.t - self._last_frame_t
        self._last_frame_t = f.t
        summary = f.summary()
        out: list[Event] = []

        blocked = self.camera_classifier(f.camera, s) if (self.camera_classifier and f.camera) else None
        summary["blocked"] = blocked
        out += self.camera_blocked.update(f.t, dt, blocked is not None, 1.0, reason=blocked)
        out += self.face_missing.update(f.t, dt, f.face_count == 0 and blocked is None, 1.0)
        second = f.faces[1].box.score if f.face_count >= 2 else 0.0
        out += self.multiple_faces.update(f.t, dt, f.face_count >= 2, second, faces=f.face_count)

        away, conf, why = self._looking_away(f)
        summary["away"] = away
        out += self.looking_away.update(f.t, dt, away, conf, reason=why)

        body = f.body
        moving = body is not None and body.motion > s.body_movement.motion_level
        out += self.body_movement.update(
            f.t, dt, moving, min(1.0, (body.motion if body else 0.0) / max(s.body_movement.motion_level * 2, 1e-6)),
            region=None if body is None else body.region,
        )

        if f.identity is not None or f.face_count == 0:
            out += self.push_identity(f.t, f.identity)

        self._remember(self.frame_series, summary, f.t)
        return self._with_series(out)

    def _looking_away(self, f: FrameSignals) -> tuple[bool, float, str | None]:
        p = f.primary
        if p is None or p.pose is None:
            return False, 0.0, None
        cfg = self.settings.looking_away
        if not self.neutral.ready:
            if f.face_count == 1:
                self.neutral.offer(f.t, p.pose)
            if not self.neutral.ready:
                return False, 0.0, None  # not judged while the neutral pose is being measured
        n = self.neutral.pose
        assert n is not None
        dyaw, dpitch = p.pose.yaw - n.yaw, p.pose.pitch - n.pitch
        excess = max(abs(dyaw) / cfg.yaw_deg, abs(dpitch) / cfg.pitch_deg)
        if excess > 1.0:
            why = "head_yaw" if abs(dyaw) / cfg.yaw_deg >= abs(dpitch) / cfg.pitch_deg else "head_pitch"
            return True, min(1.0, 0.5 + 0.5 * (excess - 1.0)), why
        if p.gaze is not None and p.gaze.off_screen:
            return True, 0.6, "gaze"
        return False, 0.0, None

    # --- identity -----------------------------------------------------------------------------------------
    def push_identity(self, t: float, check: IdentityCheck | None) -> list[Event]:
        """One identity check (``None``: no face to check, which is face_missing, not a mismatch)."""
        if check is None:
            return []
        return self._with_series(self.identity.update(t, check))

    # --- audio --------------------------------------------------------------------------------------------
    def push_audio(self, windows: list[AudioSignals]) -> list[Event]:
        out: list[Event] = []
        s = self.settings
        for w in windows:
            out += self.speech.update(w.t, w.duration, w.speech, w.score)
            loud = (not w.speech) and w.dbfs > s.noise.level_dbfs
            out += self.noise.update(w.t, w.duration, loud, min(1.0, 0.5 + (w.dbfs - s.noise.level_dbfs) / 20.0),
                                     peak_dbfs=round(w.dbfs, 1))
            self._audio_bucket.append(w)
            if w.t + w.duration - self._audio_bucket[0].t >= 0.1:
                b = self._audio_bucket
                energy = sum(10 ** (x.dbfs / 10.0) for x in b) / len(b)
                self._remember(self.audio_series, {
                    "t": round(b[0].t, 3),
                    "dbfs": round(10 * math.log10(max(energy, 1e-12)), 1),
                    "speech": any(x.speech for x in b),
                }, b[0].t)
                self._audio_bucket = []
        return self._with_series(out)

    # --- external events (browser, server) ----------------------------------------------------------------
    def external(self, kind: str, start: float, end: float | None, source: str, details: dict[str, Any] | None = None,
                 confidence: float = 1.0) -> Event:
        return Event(
            id=self.ids.next(kind), kind=kind, start=start, end=end, confidence=confidence, source=source,
            status="closed" if end is not None else "open", evidence={"details": details or {}},
            model_versions={},
        )

    def finish(self, t: float) -> list[Event]:
        out: list[Event] = []
        for r in [*self._video_rules, self.identity, self.speech, self.noise]:
            out += r.finish(t)
        return self._with_series(out)

    # --- evidence series ----------------------------------------------------------------------------------
    @staticmethod
    def _remember(series: deque[dict[str, Any]], item: dict[str, Any], t: float) -> None:
        series.append(item)
        while series and t - series[0]["t"] > SERIES_SECONDS:
            series.popleft()

    def _with_series(self, events: list[Event]) -> list[Event]:
        for ev in events:
            if ev.status != "closed":
                continue
            src = self.audio_series if ev.source == "audio" else self.frame_series
            lo, hi = ev.start - SERIES_MARGIN_S, (ev.end or ev.start) + SERIES_MARGIN_S
            pts = [p for p in src if lo <= p["t"] <= hi]
            step = max(1, math.ceil(len(pts) / SERIES_MAX_POINTS))
            ev.evidence["series"] = pts[::step]
        return events
