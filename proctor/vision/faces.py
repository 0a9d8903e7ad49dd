"""The face stage: every face in a frame, and for the faces close enough, landmarks, head pose and gaze.

Live frames (:class:`FaceAnalyzer`):

1. **Detection** on the whole frame with the BlazeFace *full-range* model (``face_detector_full_range``, run by
   the Tasks ``FaceDetector``): it also finds the small face of a second person further back, which the
   short-range model inside the Face Landmarker misses. Boxes at or above ``settings.faces.detector_min_score``
   and at least ``settings.faces.min_face_px`` on their short side count as faces; a box lying mostly inside a
   larger one is dropped (one face, two boxes).
2. **Landmarks** (478 points + 52 blendshapes, the Face Landmarker bundle) only for the largest
   ``settings.faces.landmarker_max_faces`` faces at least :data:`LANDMARK_MIN_FACE_PX` on their short side, each
   on a square crop of :data:`CROP_SCALE` x its box around it (not the whole frame). In video mode each such face
   keeps its own landmarker in VIDEO mode (tracking: after the first frame it skips its internal detector) and
   a crop window that stays put while the face stays well inside it, so the tracking stays valid. A landmark
   set that does not fall on its detection box is discarded. A further face whose landmarks keep failing (a
   profile the landmarker's own detector cannot find) is retried every :data:`SECONDARY_RETRY` frames only.
   The Face Landmarker's C result is read with numpy (:func:`_run_landmarker`) rather than as 478 Python objects.
3. **Head pose** from the landmarks (:mod:`proctor.vision.head_pose`, PnP on MediaPipe's canonical face model)
   and **gaze** from the eye blendshapes (:mod:`proctor.vision.gaze`).

In video mode the detector runs on every ``settings.faces.detect_every_n_frames``-th frame (default 4); on the
frames between, each face that has landmarks is followed by its own landmarker (its box moves with its landmarks)
and the faces without landmarks are carried over from the last detection. A tracked face that is lost, or leaves
its crop window, makes that frame a detection frame at once, so a face leaving is seen on the frame it leaves; a
new face entering is found at the next detection (within 0.8 s at 5 analysed frames per second, inside the 1 s
a ``multiple_faces`` event needs).

Cost per 640x480 frame on one core (``taskset -c 0``, one face; ``benchmarks/bench_faces.py``): full-range
detection ~4.5-5 ms + landmarks and blendshapes on the crop ~8 ms + PnP pose 0.1 ms + the rest ~0.3 ms. Each
further face with landmarks adds ~8 ms. MediaPipe's Tasks API (1.2.3) has no thread setting (``BaseOptions``
holds only the model and the CPU/GPU delegate): each task object runs a dispatcher thread and two graph
threads; pinned to one core they take turns (CPU time per frame measured the same pinned or not).

Still photos (:func:`count_faces_in_photo`, enrolment photos and the group-photo benchmark): three detectors
whose boxes are clustered (overlap or one's centre inside the other):

- the full-range model on the whole image;
- the full-range model on overlapping square tiles (half the short side, 25 % overlap; boxes touching an inner
  tile edge are dropped), which sees small faces in large photos at a better scale;
- dlib's HOG frontal-face detector with one upsampling, on the image scaled down to at most
  :data:`HOG_MAX_SIDE` px.

A cluster is a face when the whole-image full-range score is >= ``detector_min_score``, or the HOG margin is
>= 0 (dlib's own threshold), or both kinds agree at lower levels (a full-range score >= ``detector_min_score`` on
a tile with a HOG margin >= :data:`HOG_AGREE_MARGIN`). On data/: 11 of the 12 group photos exact (the miss:
three faces cut by the frame's edge in a close selfie), 0 faces on the dog photo, exactly one on each of the
58 face photos and the two partial-face photos.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from proctor.frames import check_rgb
from proctor.model_files import model_path
from proctor.settings import EngineSettings
from proctor.signals import FaceBox, FaceObservation
from proctor.vision.gaze import gaze_from_blendshapes
from proctor.vision import mp_calls
from proctor.vision.head_pose import head_pose_from_landmarks

log = logging.getLogger(__name__)

LANDMARK_MIN_FACE_PX = 40  # faces smaller than this (box short side, px) get no landmarks/pose/gaze
CROP_SCALE = 2.0  # the landmarker sees a square crop this many box sides wide around the face
WINDOW_KEEP_OFFSET = 0.15  # keep a crop window while the box centre is within this share of its side from its centre
WINDOW_KEEP_RATIO = (0.33, 0.7)  # ... and the box side is within this share of the window side
SECONDARY_RETRY = 4  # a non-largest face whose landmarks failed twice running is retried every 4th frame
CONTAINED = 0.6  # a box with this share of its area inside a larger box is the same face
MATCH_MARGIN = 0.25  # landmarks' centre must lie in the detection box grown by this share of its side

# still photos
TILE_OVERLAP = 0.25
TILE_MIN_SIDE = 192  # no tiling for images whose short side is under 2x this
TILE_EDGE_PX = 2
HOG_MAX_SIDE = 800
HOG_UPSAMPLE = 1
HOG_MIN_MARGIN = 0.0  # dlib's default detection threshold
HOG_AGREE_MARGIN = -0.5  # a weaker HOG hit counts when the full-range model agrees
PHOTO_CANDIDATE_SCORE = 0.3  # full-range detections kept as candidates for clustering


# ============================================================================================================
# MediaPipe helpers
# ============================================================================================================


def _mp_image(rgb: np.ndarray):
    import mediapipe as mp

    return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))


def _make_detector(min_score: float):
    from mediapipe.tasks.python import BaseOptions, vision

    opts = vision.FaceDetectorOptions(
        base_options=BaseOptions(model_asset_path=str(model_path("face_detector_full_range"))),
        running_mode=vision.RunningMode.IMAGE,
        min_detection_confidence=float(min_score),
    )
    return vision.FaceDetector.create_from_options(opts)


def _make_landmarker(video: bool):
    from mediapipe.tasks.python import BaseOptions, vision

    opts = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path("face_landmarker"))),
        running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
        num_faces=1,
        output_face_blendshapes=True,
        output_facial_transformation_matrixes=False,
    )
    return vision.FaceLandmarker.create_from_options(opts)


@dataclass
class _Landmarks:
    points: np.ndarray  # (478, 3) float64, normalised to the image the landmarker saw
    blendshapes: dict[str, float] | None


@lru_cache(maxsize=1)
def _landmark_dtype() -> np.dtype | None:
    try:
        import ctypes

        from mediapipe.tasks.python.components.containers.landmark_c import MpNormalizedLandmarkC as C
    except ImportError:  # pragma: no cover - another MediaPipe layout: the public API is used
        return None
    return np.dtype({"names": ["x", "y", "z"], "formats": ["<f4"] * 3,
                     "offsets": [C.x.offset, C.y.offset, C.z.offset], "itemsize": ctypes.sizeof(C)})


_blendshape_names: dict[int, str] = {}


def _run_landmarker(landmarker, image, ts: int | None) -> _Landmarks | None:
    """The first face of a Face Landmarker run, read straight from MediaPipe's C result with numpy.

    The public ``detect``/``detect_for_video`` build 478 Python landmark objects per face (~0.4 ms per call);
    this reads the same C result into one array (identical values; checked in tests/test_faces.py). Falls back
    to the public API when the wrapper's internals are not the ones of the pinned mediapipe 1.2.3.
    """
    dtype = _landmark_dtype()
    lib, handle, ptr = getattr(landmarker, "_lib", None), getattr(landmarker, "_handle", None), getattr(image, "_image_ptr", None)
    if dtype is None or lib is None or handle is None or ptr is None:
        return _run_landmarker_public(landmarker, image, ts)
    import ctypes

    from mediapipe.tasks.python.vision.face_landmarker import MpFaceLandmarkerResultC

    res = MpFaceLandmarkerResultC()
    if ts is None:
        mp_calls.call(landmarker, "MpFaceLandmarkerDetectImage", handle, ptr, None, ctypes.byref(res))
    else:
        mp_calls.call(landmarker, "MpFaceLandmarkerDetectForVideo", handle, ptr, None, ts, ctypes.byref(res))
    try:
        if res.face_landmarks_count == 0 or res.face_landmarks[0].landmarks_count == 0:
            return None
        lms = res.face_landmarks[0]
        n = int(lms.landmarks_count)
        raw = (ctypes.c_char * (n * dtype.itemsize)).from_address(ctypes.addressof(lms.landmarks.contents))
        a = np.frombuffer(raw, dtype=dtype, count=n)
        points = np.stack([a["x"], a["y"], a["z"]], axis=1).astype(np.float64)  # a copy: the C result is freed
        blend = None
        if res.face_blendshapes_count:
            cats = res.face_blendshapes[0]
            blend = {}
            for j in range(cats.categories_count):
                c = cats.categories[j]
                name = _blendshape_names.get(c.index)
                if name is None:
                    name = _blendshape_names[c.index] = (c.category_name or b"").decode()
                blend[name] = float(c.score)
        return _Landmarks(points, blend)
    finally:
        mp_calls.call(landmarker, "MpFaceLandmarkerCloseResult", ctypes.byref(res), status=False)


def _run_landmarker_public(landmarker, image, ts: int | None) -> _Landmarks | None:
    result = landmarker.detect(image) if ts is None else landmarker.detect_for_video(image, ts)
    if not result.face_landmarks:
        return None
    points = np.array([(p.x, p.y, p.z) for p in result.face_landmarks[0]], dtype=np.float64)
    blend = None
    if result.face_blendshapes:
        blend = {c.category_name: float(c.score) for c in result.face_blendshapes[0]}
    return _Landmarks(points, blend)


def _detect(detector, image):
    """``detector.detect(image)``, with the C calls made on this thread (:mod:`proctor.vision.mp_calls`)."""
    try:
        from mediapipe.tasks.python.components.containers import detections_c as dc
        from mediapipe.tasks.python.vision.face_detector import FaceDetectorResult
    except ImportError:  # pragma: no cover - another MediaPipe layout
        return detector.detect(image)
    handle, ptr = getattr(detector, "_handle", None), getattr(image, "_image_ptr", None)
    if handle is None or ptr is None:  # pragma: no cover
        return detector.detect(image)
    import ctypes

    res = dc.MpDetectionResultC()
    mp_calls.call(detector, "MpFaceDetectorDetectImage", handle, ptr, None, ctypes.byref(res))
    try:
        return FaceDetectorResult.from_ctypes(res)
    finally:
        mp_calls.call(detector, "MpFaceDetectorCloseResult", ctypes.byref(res), status=False)


def _detections(detector, rgb: np.ndarray, ox: float = 0.0, oy: float = 0.0) -> list[FaceBox]:
    out = []
    for d in _detect(detector, _mp_image(rgb)).detections:
        b = d.bounding_box
        score = d.categories[0].score if d.categories else 0.0
        out.append(FaceBox(float(b.origin_x) + ox, float(b.origin_y) + oy, float(b.width), float(b.height), float(score)))
    return out


def _clip(box: FaceBox, w: int, h: int) -> FaceBox | None:
    x0, y0 = max(0.0, box.x), max(0.0, box.y)
    x1, y1 = min(float(w), box.x + box.w), min(float(h), box.y + box.h)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return FaceBox(x0, y0, x1 - x0, y1 - y0, box.score)


def _intersection(a: FaceBox, b: FaceBox) -> float:
    iw = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    ih = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    return max(0.0, iw) * max(0.0, ih)


def _iou(a: FaceBox, b: FaceBox) -> float:
    i = _intersection(a, b)
    return i / max(1e-9, a.area + b.area - i)


def _dedupe(boxes: list[FaceBox]) -> list[FaceBox]:
    """Largest first; drop a box that lies mostly inside a larger kept one."""
    kept: list[FaceBox] = []
    for b in sorted(boxes, key=lambda b: b.area, reverse=True):
        if all(_intersection(b, k) < CONTAINED * b.area for k in kept):
            kept.append(b)
    return kept


# ============================================================================================================
# Live frames
# ============================================================================================================


@dataclass
class _Slot:
    """One landmarker (VIDEO mode keeps tracking state) and its crop window in frame pixels (unclipped)."""

    landmarker: Any
    window: tuple[float, float, float] | None = None  # centre x, centre y, side
    misses: int = 0  # consecutive frames without landmarks for the face in this window
    anchor: tuple[float, float] | None = None  # landmark centre (px) when the face was last measured
    last_ts: int = -1  # the landmarker's last timestamp (VIDEO mode needs them rising per landmarker)

    def ts(self, ts: int) -> int:
        """A rising timestamp for this slot's landmarker (a frame may call it twice: track, then detect)."""
        self.last_ts = max(int(ts), self.last_ts + 1)
        return self.last_ts

    def holds(self, box: FaceBox) -> bool:
        if self.window is None:
            return False
        cx, cy, side = self.window
        bx, by = box.x + box.w / 2, box.y + box.h / 2
        ratio = max(box.w, box.h) / side
        return (abs(bx - cx) <= WINDOW_KEEP_OFFSET * side and abs(by - cy) <= WINDOW_KEEP_OFFSET * side
                and WINDOW_KEEP_RATIO[0] <= ratio <= WINDOW_KEEP_RATIO[1])


class FaceAnalyzer:
    """Faces of each frame, largest first. Not thread-safe: one analyser per stream.

    ``video=True``: frames of one stream in time order (``timestamp_ms`` rising; when omitted, frames are taken
    to be ``1 / settings.analysis_fps`` apart). ``video=False``: unrelated still images.
    """

    def __init__(self, settings: EngineSettings | None = None, video: bool = True, focal_px: float | None = None):
        self.settings = settings or EngineSettings()
        self.video = bool(video)
        self.focal_px = focal_px
        fs = self.settings.faces
        self._min_score = float(fs.detector_min_score)
        self._min_px = float(fs.min_face_px)
        self._max_landmarks = max(0, int(fs.landmarker_max_faces))
        self._gaze_off = float(self.settings.looking_away.gaze_off)
        self._detector = _make_detector(self._min_score)
        self._slots: list[_Slot] = []
        self._image_landmarker = None
        self._last_ts: int | None = None
        self._closed = False
        # video: the detector runs every ``detect_every_n_frames`` frames; between, measured faces are tracked
        # by their landmarkers and the others carried over from the last detection
        self._detect_every = max(1, int(fs.detect_every_n_frames)) if self.video else 1
        self._since_detect = 0
        self._tracked: list[tuple[_Slot, FaceBox]] = []
        self._carried: list[FaceBox] = []

    # ------------------------------------------------------------------------------------------------------
    def analyze(self, rgb: np.ndarray, timestamp_ms: int | None = None) -> list[FaceObservation]:
        """Every face (box + score), largest first; landmarks, blendshapes, pose and gaze for faces close enough."""
        if self._closed:
            raise RuntimeError("FaceAnalyzer is closed")
        rgb = check_rgb(rgb)
        ts = self._timestamp(timestamp_ms) if self.video else 0
        if self.video and self._since_detect + 1 < self._detect_every and self._tracked:
            tracked = self._track(rgb, ts)
            if tracked is not None:
                self._since_detect += 1
                return tracked
        self._since_detect = 0
        h, w = rgb.shape[:2]
        boxes = []
        for b in _detections(self._detector, rgb):
            c = _clip(b, w, h)
            if c is not None and c.score >= self._min_score and c.side >= self._min_px:
                boxes.append(c)
        faces = [FaceObservation(box=b) for b in _dedupe(boxes)]
        wanted = [f for f in faces[: self._max_landmarks] if f.box.side >= LANDMARK_MIN_FACE_PX]
        if self.video:
            self._tracked = []
            for rank, (face, slot) in enumerate(self._assign_slots(wanted)):
                # a further face the landmarker keeps missing (a profile, a blurred face) is retried every
                # SECONDARY_RETRY frames only; the largest face is tried on every frame
                if rank > 0 and slot.misses >= 2 and slot.misses % SECONDARY_RETRY:
                    slot.misses += 1
                    continue
                found = self._measure(face, rgb, slot.landmarker, slot.window, slot.ts(ts))
                slot.misses = 0 if found else slot.misses + 1
                if found:
                    slot.anchor = _landmark_centre(face, w, h)
                    self._tracked.append((slot, face.box))
            tracked = {id(b) for _, b in self._tracked}
            self._carried = [f.box for f in faces if id(f.box) not in tracked]
        else:
            for face in wanted:
                if self._image_landmarker is None:
                    self._image_landmarker = _make_landmarker(video=False)
                if not self._measure(face, rgb, self._image_landmarker, _window_for(face.box), None):
                    # stills: when the crop gives nothing, the whole image (the landmarker's own detector)
                    h, w = rgb.shape[:2]
                    self._measure(face, rgb, self._image_landmarker, (w / 2, h / 2, max(w, h)), None)
        return faces

    def _track(self, rgb: np.ndarray, ts: int) -> list[FaceObservation] | None:
        """A frame between detections: each measured face is followed by its landmarker (its box moves with
        the landmarks), the others are carried over. ``None`` when a tracked face is lost: detect instead."""
        h, w = rgb.shape[:2]
        faces: list[FaceObservation] = []
        moved: list[tuple[_Slot, FaceBox]] = []
        for slot, prev in self._tracked:
            face = FaceObservation(box=prev)
            if slot.anchor is None or not self._measure(face, rgb, slot.landmarker, slot.window, slot.ts(ts)):
                return None
            cx, cy = _landmark_centre(face, w, h)
            box = _clip(FaceBox(prev.x + cx - slot.anchor[0], prev.y + cy - slot.anchor[1], prev.w, prev.h,
                                prev.score), w, h)
            if box is None or not slot.holds(box):
                return None
            face.box = box
            slot.anchor = (cx, cy)
            moved.append((slot, box))
            faces.append(face)
        self._tracked = moved
        faces += [FaceObservation(box=b) for b in self._carried]
        faces.sort(key=lambda f: f.box.area, reverse=True)
        return faces

    def _timestamp(self, timestamp_ms: int | None) -> int:
        if timestamp_ms is None:
            step = max(1, int(round(1000.0 / max(1e-3, self.settings.analysis_fps))))
            ts = 0 if self._last_ts is None else self._last_ts + step
        else:
            ts = int(timestamp_ms)
            if self._last_ts is not None and ts <= self._last_ts:
                raise ValueError(f"timestamp_ms must rise from frame to frame in video mode: {ts} after {self._last_ts}")
        self._last_ts = ts
        return ts

    def _assign_slots(self, wanted: list[FaceObservation]) -> list[tuple[FaceObservation, _Slot]]:
        while len(self._slots) < len(wanted):
            self._slots.append(_Slot(_make_landmarker(video=True)))
        pairs: list[tuple[FaceObservation, _Slot]] = []
        free = list(self._slots)
        pending = []
        for face in wanted:  # keep a face with the slot whose window still holds it (its tracking stays valid)
            slot = next((s for s in free if s.holds(face.box)), None)
            if slot is None:
                pending.append(face)
            else:
                free.remove(slot)
                pairs.append((face, slot))
        for face in pending:
            slot = free.pop(0)
            slot.window = _window_for(face.box)
            slot.misses = 0
            pairs.append((face, slot))
        for slot in free:
            slot.window = None
            slot.misses = 0
        pairs.sort(key=lambda p: wanted.index(p[0]))  # largest face first
        return pairs

    def _measure(self, face: FaceObservation, rgb: np.ndarray, landmarker, window, ts: int | None) -> bool:
        """Landmarks, pose and gaze of ``face`` from a crop; False when the landmarker found no matching face."""
        h, w = rgb.shape[:2]
        cx, cy, side = window
        x0, y0 = max(0, int(math.floor(cx - side / 2))), max(0, int(math.floor(cy - side / 2)))
        x1, y1 = min(w, int(math.ceil(cx + side / 2))), min(h, int(math.ceil(cy + side / 2)))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return False
        found = _run_landmarker(landmarker, _mp_image(rgb[y0:y1, x0:x1]), ts)
        if found is None:
            return False
        cw, ch = x1 - x0, y1 - y0
        pts = found.points
        px = np.empty((len(pts), 2))
        px[:, 0] = pts[:, 0] * cw + x0
        px[:, 1] = pts[:, 1] * ch + y0
        if not _landmarks_match(px, face.box):
            return False
        face.landmarks = np.column_stack([px[:, 0] / w, px[:, 1] / h, pts[:, 2] * cw / w]).astype(np.float32)
        face.pose = head_pose_from_landmarks(px, w, h, self.focal_px)
        if found.blendshapes:
            face.blendshapes = found.blendshapes
            face.gaze = gaze_from_blendshapes(face.blendshapes, self._gaze_off)
        return True

    # ------------------------------------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for obj in [self._detector, self._image_landmarker, *(s.landmarker for s in self._slots)]:
            if obj is not None:
                try:
                    obj.close()
                except Exception:  # pragma: no cover - closing must not raise
                    log.debug("closing a MediaPipe task failed", exc_info=True)
        self._slots = []
        self._image_landmarker = None

    def __enter__(self) -> "FaceAnalyzer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # the Tasks objects complain when collected while open
        try:
            self.close()
        except Exception:
            pass


def _landmark_centre(face: FaceObservation, w: int, h: int) -> tuple[float, float]:
    pts = face.landmarks[:468, :2]
    return (float((pts[:, 0].min() + pts[:, 0].max()) / 2 * w), float((pts[:, 1].min() + pts[:, 1].max()) / 2 * h))


def _window_for(box: FaceBox, scale: float = CROP_SCALE) -> tuple[float, float, float]:
    return (box.x + box.w / 2, box.y + box.h / 2, scale * max(box.w, box.h))


def _landmarks_match(px: np.ndarray, box: FaceBox) -> bool:
    """The landmarks belong to ``box``: their centre lies in the (grown) box and their size is comparable."""
    x0, y0 = px[:468].min(axis=0)
    x1, y1 = px[:468].max(axis=0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    m = MATCH_MARGIN * max(box.w, box.h)
    inside = box.x - m <= cx <= box.x + box.w + m and box.y - m <= cy <= box.y + box.h + m
    size = max(x1 - x0, y1 - y0) / max(1.0, max(box.w, box.h))
    return bool(inside and 0.5 <= size <= 3.0)


# ============================================================================================================
# Still photos
# ============================================================================================================

@lru_cache(maxsize=1)
def _hog():
    import dlib

    return dlib.get_frontal_face_detector()


def _tiles(h: int, w: int) -> list[tuple[int, int, int]]:
    """Overlapping square tiles (x, y, side) covering the image; none for small images."""
    side = int(min(h, w) * 0.5)
    if side < TILE_MIN_SIDE:
        return []
    step = max(1, int(side * (1 - TILE_OVERLAP)))
    xs = list(range(0, w - side + 1, step))
    ys = list(range(0, h - side + 1, step))
    if xs[-1] + side < w:
        xs.append(w - side)
    if ys[-1] + side < h:
        ys.append(h - side)
    return [(x, y, side) for y in ys for x in xs]


def _touches_inner_edge(b: FaceBox, x: int, y: int, side: int, w: int, h: int) -> bool:
    e = TILE_EDGE_PX
    return ((b.x <= x + e and x > 0) or (b.y <= y + e and y > 0)
            or (b.x + b.w >= x + side - e and x + side < w) or (b.y + b.h >= y + side - e and y + side < h))


def _same_face(a: FaceBox, b: FaceBox) -> bool:
    if _iou(a, b) >= 0.3:
        return True
    small, large = (a, b) if a.area < b.area else (b, a)
    cx, cy = small.x + small.w / 2, small.y + small.h / 2
    inside = large.x <= cx <= large.x + large.w and large.y <= cy <= large.y + large.h
    return inside and math.sqrt(small.area / max(1e-9, large.area)) > 0.4


def photo_candidates(rgb: np.ndarray) -> dict[str, list[FaceBox]]:
    """Raw detections of the three still-photo detectors (``score`` is the HOG margin for ``hog``)."""
    rgb = check_rgb(rgb)
    h, w = rgb.shape[:2]
    # a detector per call (~16 ms to create): a long-lived one cannot be closed cleanly at interpreter exit
    det = _make_detector(PHOTO_CANDIDATE_SCORE)
    try:
        full = _detections(det, rgb)
        tiles: list[FaceBox] = []
        for x, y, side in _tiles(h, w):
            for b in _detections(det, rgb[y:y + side, x:x + side], x, y):
                if not _touches_inner_edge(b, x, y, side, w, h):
                    tiles.append(b)
    finally:
        det.close()
    scale = min(1.0, HOG_MAX_SIDE / max(h, w))
    small = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    rects, margins, _ = _hog().run(small, HOG_UPSAMPLE, HOG_AGREE_MARGIN)
    hog = [FaceBox(r.left() / scale, r.top() / scale, r.width() / scale, r.height() / scale, float(m))
           for r, m in zip(rects, margins)]
    return {"full": full, "tile": tiles, "hog": hog}


def count_faces_in_photo(rgb: np.ndarray, settings: EngineSettings | None = None) -> list[FaceBox]:
    """Every face in a still photo, largest first (slower and more thorough than a live frame).

    Scores: the best full-range score of the face's cluster; a face found by HOG alone gets the logistic of
    its HOG margin (0.5 at dlib's threshold).
    """
    s = settings or EngineSettings()
    min_score, min_px = float(s.faces.detector_min_score), float(s.faces.min_face_px)
    rgb = check_rgb(rgb)
    h, w = rgb.shape[:2]
    cand = photo_candidates(rgb)
    clusters: list[list[tuple[str, FaceBox]]] = []
    for kind in ("full", "tile", "hog"):
        for b in cand[kind]:
            for c in clusters:
                if any(_same_face(b, o) for _, o in c):
                    c.append((kind, b))
                    break
            else:
                clusters.append([(kind, b)])
    faces: list[FaceBox] = []
    for c in clusters:
        full = max((b.score for k, b in c if k == "full"), default=0.0)
        tile = max((b.score for k, b in c if k == "tile"), default=0.0)
        hog = max((b.score for k, b in c if k == "hog"), default=-math.inf)
        if not (full >= min_score or hog >= HOG_MIN_MARGIN or (max(full, tile) >= min_score and hog >= HOG_AGREE_MARGIN)):
            continue
        best = max((b for k, b in c if k != "hog"), key=lambda b: b.score, default=None)
        if best is None:
            best = max((b for k, b in c if k == "hog"), key=lambda b: b.score)
            best = FaceBox(best.x, best.y, best.w, best.h, 1.0 / (1.0 + math.exp(-best.score)))
        else:
            best = FaceBox(best.x, best.y, best.w, best.h, max(full, tile))
        clipped = _clip(best, w, h)
        if clipped is not None and clipped.side >= min_px:
            faces.append(clipped)
    return sorted(faces, key=lambda b: b.area, reverse=True)


__all__ = [
    "FaceAnalyzer",
    "count_faces_in_photo",
    "photo_candidates",
    "check_rgb",
    "LANDMARK_MIN_FACE_PX",
]
