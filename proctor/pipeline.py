"""One proctoring session's analysis: frames and audio in, signals and events out.

:class:`SessionAnalyzer` holds the analysers (faces, body, camera, identity, audio) and the rules of one
session. It is what the offline ``proctor analyze`` command and the live server's worker processes run. Every
event emission comes back as an :class:`proctor.events.Event` so the caller can store it at once.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import cv2
import numpy as np

from proctor.events import Event
from proctor.frames import check_rgb
from proctor.model_files import model_versions
from proctor.rules import RuleEngine
from proctor.settings import EngineSettings
from proctor.signals import AudioSignals, FrameSignals, HeadPose

if TYPE_CHECKING:
    from proctor.identity import Enrolment, FaceEncoder
    from proctor.roomscan import RoomScanTracker

log = logging.getLogger(__name__)

EVIDENCE_WIDTH = 320  # evidence frames are stored at this width
EVIDENCE_JPEG_QUALITY = 80


@dataclass
class FrameResult:
    signals: FrameSignals
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class IdentityProbe:
    """The identity step's look at one live frame: is exactly one face there, lit enough, and the enrolled student?

    ``reason``: ``too_dark``, ``no_face``, ``multiple_faces``, ``not_enrolled``, ``match`` or ``mismatch``."""

    ok: bool
    reason: str
    faces: int
    brightness: float | None
    distance: float | None = None
    threshold: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"faces": self.faces, "brightness": self.brightness, "ok": self.ok, "reason": self.reason}
        if self.distance is not None:
            out |= {"distance": self.distance, "threshold": self.threshold}
        return out


@dataclass(frozen=True)
class RoomScanOutcome:
    """A finished room scan: its event (evidence strip attached) and the verdict the page is told."""

    event: Event
    passed: bool
    coverage_deg: float
    reasons: list[str]
    warnings: list[str]
    frames: int
    faces: list[dict[str, Any]]

    def summary(self) -> dict[str, Any]:
        return {"passed": self.passed, "kind": self.event.kind, "event_id": self.event.id,
                "coverage_deg": self.coverage_deg, "reasons": list(self.reasons), "warnings": list(self.warnings),
                "frames": self.frames, "faces": [dict(f) for f in self.faces]}


def encode_jpeg(rgb: np.ndarray, width: int = EVIDENCE_WIDTH, quality: int = EVIDENCE_JPEG_QUALITY) -> bytes:
    h, w = rgb.shape[:2]
    if w > width:
        rgb = cv2.resize(rgb, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode an evidence frame")
    return buf.tobytes()


class SessionAnalyzer:
    """All analysis of one session. Not thread-safe: one session, one analyser, frames in time order."""

    def __init__(
        self,
        settings: EngineSettings | None = None,
        enrolment: Enrolment | None = None,
        neutral_pose: HeadPose | None = None,
    ):
        from proctor.audio import AudioAnalyzer
        from proctor.vision.body import BodyAnalyzer
        from proctor.vision.camera import CameraCheck, classify
        from proctor.vision.faces import FaceAnalyzer

        self.settings = settings or EngineSettings()
        self.versions = model_versions()
        self.faces = FaceAnalyzer(self.settings, video=True)
        self.body = BodyAnalyzer(self.settings, use_pose=self.settings.body_movement.use_pose_model)
        self.camera = CameraCheck()
        self.audio = AudioAnalyzer(self.settings)
        self.enrolment: Enrolment | None = None
        self.encoder: FaceEncoder | None = None
        self.set_enrolment(enrolment)
        self.rules = RuleEngine(self.settings, self.versions, neutral_pose, camera_classifier=classify)
        self._last_identity_t: float | None = None  # time of the last identity check
        self._last_identity_match = True
        self._mismatches_in_a_row = 0
        self._faces_changed = False  # the number of faces changed since the last identity check
        self._last_face_count: int | None = None
        self._last_ts_ms = -1
        self.frames_analysed = 0
        self.identity_checks = 0
        self._scan: RoomScanTracker | None = None  # while the student scans the room
        self._scan_t0 = 0.0
        self._scan_last_t = -1e9

    # ------------------------------------------------------------------------------------------------------
    def set_enrolment(self, enrolment: Enrolment | None) -> None:
        """The student's enrolment (it may come after the stream started); the face encoder is made when needed."""
        self.enrolment = enrolment
        if enrolment is not None and self.encoder is None:
            from proctor.identity import FaceEncoder

            self.encoder = FaceEncoder()

    def enrol(self, photos: Sequence[np.ndarray | bytes]) -> Enrolment:
        """Enrol the student from reference photos and use the enrolment from now on
        (:class:`proctor.identity.EnrolmentError` names the photo and the reason when one is not usable)."""
        from proctor.identity import enrol

        enrolment = enrol(list(photos), encoder=self.encoder)
        self.set_enrolment(enrolment)
        return enrolment

    def tag_event_ids(self, tag: str) -> None:
        """A resumed session's analyser: its event ids can never repeat those already in the session's chain
        (``multiple_faces-1`` becomes ``multiple_faces-1.<tag>``; evidence image names follow the id)."""
        self.rules.ids.tag = tag

    def identity_probe(self, rgb: np.ndarray, t: float) -> IdentityProbe:
        """The identity step's check of the live face (not the periodic check during the exam)."""
        from proctor.identity import best_match

        sig = self.analyze_frame(rgb, t)
        camera = sig.camera
        faces = list(sig.faces)
        base = {"faces": len(faces), "brightness": None if camera is None else round(camera.brightness, 1)}
        if camera is not None and camera.brightness < self.settings.camera_blocked.dark_mean:
            return IdentityProbe(False, "too_dark", **base)
        if not faces:
            return IdentityProbe(False, "no_face", **base)
        if len(faces) > 1:
            return IdentityProbe(False, "multiple_faces", **base)
        if self.enrolment is None:
            return IdentityProbe(False, "not_enrolled", **base)
        _, check = best_match(self.enrolment, rgb, [faces[0].box], settings=self.settings, encoder=self.encoder)
        if check is None:
            return IdentityProbe(False, "no_face", **base)
        return IdentityProbe(bool(check.match), "match" if check.match else "mismatch", **base,
                             distance=round(float(check.distance), 4), threshold=float(check.threshold))

    # ---- room scan ---------------------------------------------------------------------------------------
    @property
    def scanning(self) -> bool:
        return self._scan is not None

    def start_room_scan(self, t: float) -> None:
        """The student starts turning the camera around the room at session time ``t``."""
        from proctor.roomscan import RoomScanTracker

        self._scan = RoomScanTracker(self.settings, detect_faces=True)
        self._scan_t0, self._scan_last_t = t, -1e9

    def scan_frame(self, rgb: np.ndarray, t: float) -> dict[str, Any] | None:
        """Feed one frame (every decoded frame: the tracker needs >= 10 fps) to the room scan; its live guide,
        or None when no scan runs or the frame is not later than the last one."""
        if self._scan is None or t <= self._scan_last_t:
            return None
        guide = self._scan.update(rgb, t - self._scan_t0)
        self._scan_last_t = t
        return guide

    def scan_elapsed(self, t: float) -> float:
        return t - self._scan_t0 if self._scan is not None else 0.0

    def end_room_scan(self) -> RoomScanOutcome | None:
        """Judge the scan: its ``room_scan_completed`` / ``room_scan_incomplete`` event with the strip as evidence
        (``<event id>_room_strip.jpg``, its sha256 in ``evidence.frames``); None without a running scan."""
        tracker, self._scan = self._scan, None
        if tracker is None:
            return None
        result = tracker.result()
        ev = result.to_event(self.rules.ids.next(result.kind), start=round(self._scan_t0, 3))
        strips, ev.evidence_images = list(ev.evidence_images.values()), {}
        ev.evidence["frames"] = []  # the evidence frames' references (the scan's frame count is in the summary)
        for jpeg in strips:
            self.attach_image(ev, jpeg, self._scan_t0 + result.duration_s, name=f"{ev.id}_room_strip.jpg",
                              role="room_strip")
        faces = [{"angle_deg": f.get("angle_deg"), "count": f.get("count")} for f in result.faces]
        return RoomScanOutcome(ev, result.passed, round(result.coverage_deg, 1), list(result.reasons),
                               list(result.warnings), result.frames, faces)

    # ------------------------------------------------------------------------------------------------------
    def analyze_frame(self, rgb: np.ndarray, t: float, index: int | None = None) -> FrameSignals:
        """Signals of one frame (faces, pose, gaze, camera, body, and identity when a check is due)."""
        rgb = check_rgb(rgb)
        ts_ms = max(int(round(t * 1000)), self._last_ts_ms + 1)  # VIDEO mode needs rising timestamps
        self._last_ts_ms = ts_ms
        h, w = rgb.shape[:2]
        faces = self.faces.analyze(rgb, ts_ms)
        sig = FrameSignals(t=t, index=self.frames_analysed if index is None else index, width=w, height=h, faces=faces)
        sig.camera = self.camera.analyze(rgb)
        sig.body = self.body.analyze(rgb, faces[0].box if faces else None, ts_ms)
        if self._identity_due(t, sig):
            sig.identity = self._check_identity(rgb, sig)
        self.frames_analysed += 1
        return sig

    def _identity_due(self, t: float, sig: FrameSignals) -> bool:
        """A check is due every ``check_interval_s``; and ``recheck_s`` after the last one when the faces in the
        frame changed since (a swap of students shows as a frame without a face, or with two, before one face
        again) or when a match may end an open identity_mismatch; after mismatching checks, ``recheck_s`` and
        then twice as long each time, up to ``check_interval_s``."""
        n = len(sig.faces)
        if self._last_face_count is not None and n != self._last_face_count:
            self._faces_changed = True
        self._last_face_count = n
        if self.enrolment is None or not sig.faces:
            return False
        if not any(f.box.side >= self.settings.identity.min_face_px for f in sig.faces):
            return False
        if self._last_identity_t is None:
            return True
        cfg = self.settings.identity
        if self._faces_changed or (self._last_identity_match and self.rules.identity.unresolved):
            wait = cfg.recheck_s  # something changed, or a match that may end an open mismatch wants confirming
        elif not self._last_identity_match:
            # mismatches in a row: the second comes recheck_s after the first (an event needs two), then the
            # wait doubles up to check_interval_s (a student who never matches is not checked every 2 s all exam)
            wait = cfg.recheck_s * 2 ** max(0, self._mismatches_in_a_row - 1)
        else:
            wait = cfg.check_interval_s
        return t - self._last_identity_t >= min(wait, cfg.check_interval_s)

    def _check_identity(self, rgb: np.ndarray, sig: FrameSignals):
        from proctor.identity import best_match

        assert self.enrolment is not None  # _identity_due checks it
        boxes = [f.box for f in sig.faces if f.box.side >= self.settings.identity.min_face_px]
        # largest face first (the student, as a rule): stop at the first face that matches
        _, check = best_match(self.enrolment, rgb, boxes, settings=self.settings, encoder=self.encoder, first_match=True)
        self._last_identity_t, self._last_identity_match, self._faces_changed = sig.t, bool(check.match), False
        self._mismatches_in_a_row = 0 if check.match else self._mismatches_in_a_row + 1
        self.identity_checks += 1
        return check

    # ------------------------------------------------------------------------------------------------------
    def process_frame(self, rgb: np.ndarray, t: float, index: int | None = None) -> FrameResult:
        """Analyse a frame and run the rules; events that open get the frame as evidence."""
        sig = self.analyze_frame(rgb, t, index)
        events = self.rules.push_frame(sig)
        for ev in events:
            if ev.status == "open":
                self.attach_frame(ev, rgb, t)
        return FrameResult(sig, events)

    def attach_frame(self, ev: Event, rgb: np.ndarray, t: float) -> None:
        self.attach_image(ev, encode_jpeg(rgb), t)

    @staticmethod
    def attach_image(ev: Event, jpeg: bytes, t: float, name: str | None = None, role: str | None = None) -> None:
        """Evidence for an event: the JPEG (stored under ``name``, by default ``<event id>-<n>.jpg``) and its
        sha256 in the chain record's ``evidence.frames`` (the review's evidence check and the export follow it)."""
        name = name or f"{ev.id}-{len(ev.evidence_images)}.jpg"
        ev.evidence_images[name] = jpeg
        ref: dict[str, Any] = {"t": round(t, 3), "name": name}
        if role is not None:
            ref["role"] = role
        ref["sha256"] = hashlib.sha256(jpeg).hexdigest()
        ev.evidence.setdefault("frames", []).append(ref)

    def process_audio(self, pcm: np.ndarray, t0: float | None = None, sample_rate: int = 16000) -> list[Event]:
        """Feed audio samples (int16 mono at ``sample_rate``) and run the audio rules."""
        windows: list[AudioSignals] = self.audio.feed(pcm, t0) if sample_rate == 16000 else \
            self.audio.feed_float(pcm.astype(np.float32) / 32768.0, sample_rate, t0)
        return self.rules.push_audio(windows)

    def external_event(self, kind: str, start: float, end: float | None, source: str,
                       details: dict[str, Any] | None = None) -> Event:
        """An event raised outside the analysers (browser signals, a lost stream, a room scan)."""
        return self.rules.external(kind, start, end, source, details)

    def finish(self, t_end: float) -> list[Event]:
        """End of the session: flush the audio still in the analyser's window, close every open event."""
        events: list[Event] = []
        scan = self.end_room_scan()  # the session ended during a scan: judge what was scanned
        if scan is not None:
            events.append(scan.event)
        events += self.rules.push_audio(self.audio.flush())
        return events + self.rules.finish(t_end)

    def close(self) -> None:
        for part in (self.faces, self.body):
            try:
                part.close()
            except Exception:  # noqa: BLE001 - closing must not hide the real error
                log.exception("closing %s failed", type(part).__name__)

    def __enter__(self) -> "SessionAnalyzer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
