"""One proctoring session's analysis: frames and audio in, signals and events out.

:class:`SessionAnalyzer` holds the analysers (faces, body, camera, identity, audio) and the rules of one
session. It is what the offline ``proctor analyze`` command and the live server's worker processes run. Every
event emission comes back as an :class:`proctor.events.Event` so the caller can store it at once.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from proctor.events import Event
from proctor.model_files import model_versions
from proctor.rules import RuleEngine
from proctor.settings import EngineSettings
from proctor.signals import AudioSignals, FrameSignals, HeadPose

log = logging.getLogger(__name__)

EVIDENCE_WIDTH = 320  # evidence frames are stored at this width
EVIDENCE_JPEG_QUALITY = 80


@dataclass
class FrameResult:
    signals: FrameSignals
    events: list[Event] = field(default_factory=list)


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
        enrolment: Any | None = None,
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
        self.enrolment = enrolment
        self.encoder = None
        if enrolment is not None:
            from proctor.identity import FaceEncoder

            self.encoder = FaceEncoder()
        self.rules = RuleEngine(self.settings, self.versions, neutral_pose, camera_classifier=classify)
        self._last_identity_t: float | None = None  # time of the last identity check
        self._last_identity_match = True
        self._mismatches_in_a_row = 0
        self._faces_changed = False  # the number of faces changed since the last identity check
        self._last_face_count: int | None = None
        self._last_ts_ms = -1
        self.frames_analysed = 0
        self.identity_checks = 0

    # ------------------------------------------------------------------------------------------------------
    def analyze_frame(self, rgb: np.ndarray, t: float, index: int | None = None) -> FrameSignals:
        """Signals of one frame (faces, pose, gaze, camera, body, and identity when a check is due)."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or rgb.size == 0:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {rgb.dtype} {rgb.shape}")
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
        jpeg = encode_jpeg(rgb)
        name = f"{ev.id}-{len(ev.evidence_images)}.jpg"
        ev.evidence_images[name] = jpeg
        ev.evidence.setdefault("frames", []).append(
            {"t": round(t, 3), "name": name, "sha256": hashlib.sha256(jpeg).hexdigest()}
        )

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
        events = self.rules.push_audio(self.audio.flush())
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
