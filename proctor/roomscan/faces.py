"""Faces seen during the room scan, placed at the room angle where they appeared.

Detection: the MediaPipe full-range face detector (finds small, distant faces) on the full frame.
Confirmation: a crop around the detection, scaled up, must give a face mesh to the Face Landmarker. On the
room-scan corpus the detector alone, at 0.5, also fires on face-like clutter (a bust in the gallery, a sign
and a desk corner in the lab, up to 0.65); the landmarker confirmed the crouching person in the lab and none
of that clutter. Both are reported; ``confirmed`` says which is which. Detection needs a sharp frame, so frames
that are blurred or too fast are not searched; people whose face is not visible are not found (the evidence
strip is there for the proctor to look).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from proctor.roomscan.coverage import wrap360

CROP_FACTOR = 2.2  # crop side / face box side for the confirmation
CROP_PX = 192


@dataclass(frozen=True)
class FaceHit:
    t: float
    raw_yaw: float  # frame yaw before the final pitch correction
    offset_deg: float  # angle of the face centre from the image centre, > 0 to the right
    score: float
    in_frame: int  # faces found in the same frame
    confirmed: bool
    box: tuple[float, float, float, float]  # x, y, w, h in the frame's pixels


class FaceSpotter:
    """Lazily creates the two MediaPipe tasks (raises :class:`proctor.model_files.ModelFileError` if the model
    files are missing: run ``proctor models fetch``). Call :meth:`close` when done: MediaPipe's own finalisers
    print errors when they only run at interpreter exit."""

    def __init__(self, min_score: float = 0.5):
        self.min_score = float(min_score)
        self._detector = None
        self._landmarker = None

    def _tasks(self):
        if self._detector is None:
            from mediapipe.tasks.python import BaseOptions, vision

            from proctor.model_files import model_path

            self._detector = vision.FaceDetector.create_from_options(vision.FaceDetectorOptions(
                base_options=BaseOptions(model_asset_path=str(model_path("face_detector_full_range"))),
                min_detection_confidence=self.min_score,
            ))
            self._landmarker = vision.FaceLandmarker.create_from_options(vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(model_path("face_landmarker"))),
                num_faces=1, min_face_detection_confidence=0.3, min_face_presence_confidence=0.3,
            ))
        return self._detector, self._landmarker

    @staticmethod
    def _image(rgb: np.ndarray):
        import mediapipe as mp

        return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))

    def detect(self, rgb: np.ndarray) -> list[tuple[tuple[float, float, float, float], float]]:
        detector, _ = self._tasks()
        out = []
        for d in detector.detect(self._image(rgb)).detections:
            b = d.bounding_box
            score = float(d.categories[0].score) if d.categories else 0.0
            if score >= self.min_score and b.width > 0 and b.height > 0:
                out.append(((float(b.origin_x), float(b.origin_y), float(b.width), float(b.height)), score))
        return out

    def confirm(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> bool:
        _, landmarker = self._tasks()
        h, w = rgb.shape[:2]
        x, y, bw, bh = box
        side = max(bw, bh) * CROP_FACTOR
        cx, cy = x + bw / 2.0, y + bh / 2.0
        x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        x1, y1 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return False
        crop = cv2.resize(rgb[y0:y1, x0:x1], (CROP_PX, CROP_PX), interpolation=cv2.INTER_CUBIC)
        return bool(landmarker.detect(self._image(crop)).face_landmarks)

    def close(self) -> None:
        for task in (self._detector, self._landmarker):
            if task is not None:
                try:
                    task.close()
                except Exception:  # pragma: no cover - closing twice or at interpreter exit
                    pass
        self._detector = self._landmarker = None

    def __del__(self) -> None:  # the Tasks objects complain when collected while open
        self.close()


def offset_deg(x_centre: float, width: int, focal: float) -> float:
    return math.degrees(math.atan((x_centre - width / 2.0) / focal))


def _circ_dist(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def sightings(hits: list[FaceHit], scale: float, merge_deg: float) -> list[dict[str, Any]]:
    """Detections grouped by room angle: one entry per place a face was seen."""
    groups: list[list[tuple[float, FaceHit]]] = []
    for h in sorted(hits, key=lambda h: h.t):
        angle = wrap360(h.raw_yaw * scale + h.offset_deg)
        for g in groups:
            if _circ_dist(g[0][0], angle) <= merge_deg:
                g.append((angle, h))
                break
        else:
            groups.append([(angle, h)])
    out = []
    for g in groups:
        angle, best = max(g, key=lambda ah: (ah[1].confirmed, ah[1].score))
        per_frame: dict[float, int] = {}
        for _, h in g:
            per_frame[h.t] = per_frame.get(h.t, 0) + 1
        out.append({
            "t": round(best.t, 3),
            "angle_deg": round(angle, 1),
            "count": max(per_frame.values()),
            "score": round(max(h.score for _, h in g), 3),
            "frames": len(per_frame),
            "confirmed": any(h.confirmed for _, h in g),
            "box": [round(v, 1) for v in best.box],
        })
    out.sort(key=lambda s: s["t"])
    return out
