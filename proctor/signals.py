"""Typed signals passed between the engine's stages: analysers produce them, rules consume them.

Conventions (all stages use them):
- Images are RGB ``uint8`` arrays of shape (H, W, 3). Boxes are in pixels of the analysed image.
- Head pose in degrees, the Pointing'04 signs: ``yaw`` > 0 when the face turns toward the image's left
  (the subject's right), ``pitch`` > 0 when the subject looks up, ``roll`` > 0 when the head tilts
  clockwise as seen in the image.
- Times are seconds from the start of the session (or file).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FaceBox:
    x: float
    y: float
    w: float
    h: float
    score: float

    @property
    def area(self) -> float:
        return self.w * self.h

    @property
    def side(self) -> float:
        return min(self.w, self.h)


@dataclass(frozen=True)
class HeadPose:
    yaw: float
    pitch: float
    roll: float


@dataclass(frozen=True)
class Gaze:
    """Eye direction relative to the head, from the eye blendshapes: -1..1 each way."""

    horizontal: float  # > 0: eyes look toward the image's left (subject's right)
    vertical: float  # > 0: eyes look up
    off_screen: bool


@dataclass
class FaceObservation:
    box: FaceBox
    landmarks: np.ndarray | None = None  # (478, 3) normalised x, y, z; None when too far to measure
    blendshapes: dict[str, float] | None = None
    pose: HeadPose | None = None
    gaze: Gaze | None = None


@dataclass(frozen=True)
class BodyObservation:
    motion: float  # 0..1: how much the upper body moved since the previous analysed frame
    region: str  # where the movement is: "none", "torso", "left", "right", "out_of_frame"
    shoulders_visible: bool | None = None
    hands_visible: int | None = None
    source: str = "motion"  # "pose" when a pose model measured it, "motion" for frame differencing


@dataclass(frozen=True)
class CameraObservation:
    brightness: float  # mean luma 0..255
    contrast: float  # luma standard deviation
    sharpness: float  # variance of the Laplacian
    change: float  # mean absolute luma difference to the previous analysed frame (-1 for the first)


@dataclass(frozen=True)
class IdentityCheck:
    distance: float
    threshold: float
    match: bool
    face_px: float


@dataclass
class FrameSignals:
    t: float
    index: int
    width: int
    height: int
    faces: list[FaceObservation] = field(default_factory=list)  # largest first
    camera: CameraObservation | None = None
    body: BodyObservation | None = None
    identity: IdentityCheck | None = None

    @property
    def face_count(self) -> int:
        return len(self.faces)

    @property
    def primary(self) -> FaceObservation | None:
        return self.faces[0] if self.faces else None

    def summary(self) -> dict[str, Any]:
        """A small JSON-ready record of this frame for the signal series (no landmarks)."""
        p = self.primary
        return {
            "t": round(self.t, 3),
            "faces": self.face_count,
            "yaw": None if p is None or p.pose is None else round(p.pose.yaw, 1),
            "pitch": None if p is None or p.pose is None else round(p.pose.pitch, 1),
            "gaze_off": None if p is None or p.gaze is None else p.gaze.off_screen,
            "brightness": None if self.camera is None else round(self.camera.brightness, 1),
            "change": None if self.camera is None else round(self.camera.change, 2),
            "motion": None if self.body is None else round(self.body.motion, 3),
            "identity_distance": None if self.identity is None else round(self.identity.distance, 4),
        }


@dataclass(frozen=True)
class AudioSignals:
    """One audio window (default 30 ms) of 16 kHz mono."""

    t: float
    duration: float
    dbfs: float
    vad: bool  # webrtcvad's raw decision
    speech: bool  # the speech decision (Silero VAD probability with hysteresis, see proctor.audio)
    score: float = 0.0  # 0..1 the model's speech probability the decision used

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
