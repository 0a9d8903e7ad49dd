"""Upper-body movement: how much the student's shoulders and hands move, and where.

Two measures, one :class:`~proctor.signals.BodyObservation` per analysed frame:

- ``source="pose"``: the MediaPipe pose model (BlazePose detector + GHUM "full" 33 landmarks, run by the Tasks
  ``PoseLandmarker``) finds the shoulders and wrists. ``motion`` is how far they are from their *usual place*
  (running median over the last :data:`BASELINE_S` seconds), in shoulder widths, clipped to 0..1: 0.25 is a
  quarter of a shoulder width (~10 cm) away from where the student usually sits. A shoulder line that is usually
  in view and is now gone (either shoulder) scores 1, a hand usually in view that has left it 0.5 (both
  "out_of_frame"); a hand that comes into view where it was not before scores 0.5 on its side.
- ``source="motion"``: frame differencing, the cheap fallback (and what is used when the pose model sees no
  shoulders, e.g. a close-up webcam that shows only the head). Grey frames scaled to :data:`DIFF_WIDTH` px;
  a pixel "moved" when its luma changed by more than :data:`PIXEL_DIFF` since the previous analysed frame
  (after removing the frame's median change, so an exposure step is not movement). ``motion`` is the share of
  moved pixels in the body area derived from the face box: below the face ("torso") and beside it ("left",
  "right"); the face itself is left out (head movement is measured by the head-pose analyser).

``region`` is where the movement is: "none" (``motion`` below :data:`NONE_BELOW`), "torso", "left", "right"
(sides of the *image*, as the proctor sees it: "left" is the student's right), or "out_of_frame" (the body or a
hand left the picture, or the face is gone or at the frame's edge while things move).

The pose bundle: the Tasks API wants a ``.task`` zip holding ``pose_detector.tflite`` and
``pose_landmarks_detector.tflite`` with TFLite metadata that gives the input normalisation. The 0.10.21 wheel's
``pose_detection.tflite`` carries such metadata already; ``pose_landmark_full.tflite`` does not, so
:func:`pose_bundle_bytes` adds it (input RGB 256x256 float in 0..1: mean 0, std 255) and zips both files
(stored, 4-byte aligned, fixed timestamps: the same inputs give the same bytes). :class:`BodyAnalyzer` uses the
manifest's ``pose_landmarker`` file when there is one, else builds the bundle in memory from the two checked
``.tflite`` files (~0.2 s).
"""

from __future__ import annotations

import io
import zipfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from proctor.frames import check_rgb
from proctor.settings import EngineSettings
from proctor.signals import BodyObservation, FaceBox

# --- frame differencing --------------------------------------------------------------------------------------
DIFF_WIDTH = 160  # grey frames are scaled to this width before differencing
PIXEL_DIFF = 18  # a luma change above this (0-255, after removing the median change) is a moved pixel
NONE_BELOW = 0.02  # motion below this is no movement (region "none")
POSE_GATE = 0.05  # body-area motion (frame differencing) that wakes the pose model: a fifth of the
# share the differencing itself calls large movement (motion_level 0.25); smaller motion cannot hold a new pose
FACE_MEMORY_S = 2.0  # without a face box, the last one is used for this long
EDGE_MARGIN = 0.01  # a face box this close to the frame's edge (share of the size) is leaving the frame
# Body area from the face box (face width fw, height fh, centre cx): torso below the chin, sides beside.
TORSO_HALF_W = 1.0  # torso: cx +- 1.0 fw
TORSO_TOP = 1.1  # torso starts 1.1 fh below the face's top (below the chin)
SIDE_OUTER = 3.0  # sides: from cx +- 1.0 fw out to cx +- 3.0 fw
SIDE_TOP = 0.3  # sides start 0.3 fh below the face's top
BODY_BOTTOM = 4.5  # the body area ends 4.5 fh below the face's top

# --- pose ----------------------------------------------------------------------------------------------------
L_SHOULDER, R_SHOULDER, L_WRIST, R_WRIST = 11, 12, 15, 16
VISIBLE = 0.5  # landmark visibility at or above this is "in view"
IN_FRAME_TOL = 0.05  # a landmark this far outside the image (share of its size) still counts as in the frame
BASELINE_S = 30.0  # the usual place: running median over this many seconds of analysed frames
MIN_BASELINE = 5  # frames needed before a baseline is trusted
USUAL = 0.5  # shoulders in view in at least this share of the baseline frames: "usually in view"
HAND_USUAL = 0.8  # a wrist in view in at least this share of the baseline frames is "usually in view"
HAND_APPEARED = 0.5  # score when a hand that was (almost) never in view comes into it
HAND_LEFT = 0.5  # score when a hand that is usually in view leaves it

POSE_DETECTOR_MEMBER = "pose_detector.tflite"
POSE_LANDMARKS_MEMBER = "pose_landmarks_detector.tflite"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_ALIGN = 4


# ============================================================================================================
# The pose bundle
# ============================================================================================================


class _AlignedZip(zipfile.ZipFile):
    """A zip whose stored members start at 4-byte aligned offsets (the Tasks API may mmap them)."""

    def _writecheck(self, zinfo: zipfile.ZipInfo) -> None:  # called just before the local header is written
        offset = self.fp.tell()
        pad = (-(offset + len(zinfo.FileHeader()))) % _ALIGN
        if pad:
            self.fp.write(b"\x00" * pad)
            zinfo.header_offset = offset + pad
        super()._writecheck(zinfo)


def _has_tflite_metadata(model_buf: bytes) -> bool:
    from mediapipe.tasks.metadata import schema_py_generated as tfl

    model = tfl.Model.GetRootAsModel(model_buf, 0)
    return any(model.Metadata(i).Name() == b"TFLITE_METADATA" for i in range(model.MetadataLength()))


def add_image_metadata(model_buf: bytes, mean: float, std: float, name: str) -> bytes:
    """``model_buf`` (a .tflite) with TFLite metadata saying its input is an RGB image normalised as
    ``(pixel - mean) / std``; every output gets an empty tensor entry. Pure Python (flatbuffers)."""
    import flatbuffers
    from mediapipe.tasks.metadata import metadata_schema_py_generated as md
    from mediapipe.tasks.metadata import schema_py_generated as tfl

    model = tfl.Model.GetRootAsModel(model_buf, 0)
    if model.SubgraphsLength() != 1:
        raise ValueError(f"{name}: expected one subgraph, found {model.SubgraphsLength()}")
    graph = model.Subgraphs(0)
    if graph.InputsLength() != 1:
        raise ValueError(f"{name}: expected one input tensor, found {graph.InputsLength()}")

    norm = md.NormalizationOptionsT()
    norm.mean, norm.std = [float(mean)], [float(std)]
    unit = md.ProcessUnitT()
    unit.optionsType, unit.options = md.ProcessUnitOptions.NormalizationOptions, norm
    image = md.ImagePropertiesT()
    image.colorSpace = md.ColorSpaceType.RGB
    content = md.ContentT()
    content.contentPropertiesType, content.contentProperties = md.ContentProperties.ImageProperties, image
    tensor_in = md.TensorMetadataT()
    tensor_in.name, tensor_in.content, tensor_in.processUnits = "image", content, [unit]
    outputs = []
    for i in range(graph.OutputsLength()):
        t = md.TensorMetadataT()
        t.name = graph.Tensors(graph.Outputs(i)).Name().decode()
        outputs.append(t)
    sub = md.SubGraphMetadataT()
    sub.inputTensorMetadata, sub.outputTensorMetadata = [tensor_in], outputs
    meta = md.ModelMetadataT()
    meta.name, meta.minParserVersion, meta.subgraphMetadata = name, "1.0.0", [sub]
    b = flatbuffers.Builder(0)
    b.Finish(meta.Pack(b), b"M001")
    meta_buf = bytes(b.Output())

    obj = tfl.ModelT.InitFromObj(model)
    buffer = tfl.BufferT()
    buffer.data = meta_buf
    obj.buffers.append(buffer)
    entry = tfl.MetadataT()
    entry.name, entry.buffer = "TFLITE_METADATA", len(obj.buffers) - 1
    obj.metadata = [m for m in (obj.metadata or []) if m.name != b"TFLITE_METADATA"] + [entry]
    b = flatbuffers.Builder(0)
    b.Finish(obj.Pack(b), b"TFL3")
    return bytes(b.Output())


def pose_bundle_bytes(detector_path: str | Path, landmarks_path: str | Path) -> bytes:
    """The Pose Landmarker ``.task`` bundle built from the 0.10.21 wheel's two pose ``.tflite`` files."""
    detector = Path(detector_path).read_bytes()
    landmarks = Path(landmarks_path).read_bytes()
    if not _has_tflite_metadata(detector):  # the 0.10.21 file has it (input -1..1)
        detector = add_image_metadata(detector, 127.5, 127.5, "pose_detector")
    if not _has_tflite_metadata(landmarks):  # the 0.10.21 file has none (input 0..1)
        landmarks = add_image_metadata(landmarks, 0.0, 255.0, "pose_landmarks_detector")
    out = io.BytesIO()
    with _AlignedZip(out, "w", compression=zipfile.ZIP_STORED) as z:
        for member, data in ((POSE_DETECTOR_MEMBER, detector), (POSE_LANDMARKS_MEMBER, landmarks)):
            info = zipfile.ZipInfo(member, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return out.getvalue()


def build_pose_bundle(detector_path: str | Path, landmarks_path: str | Path, out_path: str | Path) -> Path:
    """Write :func:`pose_bundle_bytes` to ``out_path`` (atomically) and return the path."""
    out = Path(out_path)
    data = pose_bundle_bytes(detector_path, landmarks_path)
    part = out.with_name(out.name + ".part")
    part.write_bytes(data)
    part.replace(out)
    return out


def _pose_bundle_for_engine() -> bytes:
    from proctor.model_files import manifest, model_path

    if "pose_landmarker" in manifest():
        return model_path("pose_landmarker").read_bytes()
    return pose_bundle_bytes(model_path("pose_detector"), model_path("pose_landmarks_full"))


# ============================================================================================================
# Frame differencing
# ============================================================================================================


@dataclass(frozen=True)
class _Rect:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def area(self) -> int:
        return max(0, self.x1 - self.x0) * max(0, self.y1 - self.y0)


def body_regions(box: FaceBox, width: int, height: int) -> dict[str, _Rect]:
    """The torso / left / right areas (pixels, clipped to a ``width`` x ``height`` image) for a face box."""
    cx, fw, fh, top = box.x + box.w / 2.0, box.w, box.h, box.y
    bottom = top + BODY_BOTTOM * fh

    def clip(v: float, hi: int) -> int:  # plain ints: np.clip on a scalar costs ~10 us, 12 of them per frame
        return min(max(int(round(v)), 0), hi)

    def rect(x0: float, y0: float, x1: float, y1: float) -> _Rect:
        cx0, cx1 = clip(x0, width), clip(x1, width)
        cy0, cy1 = clip(y0, height), clip(y1, height)
        return _Rect(cx0, cy0, max(cx0, cx1), max(cy0, cy1))

    return {
        "torso": rect(cx - TORSO_HALF_W * fw, top + TORSO_TOP * fh, cx + TORSO_HALF_W * fw, bottom),
        "left": rect(cx - SIDE_OUTER * fw, top + SIDE_TOP * fh, cx - TORSO_HALF_W * fw, bottom),
        "right": rect(cx + TORSO_HALF_W * fw, top + SIDE_TOP * fh, cx + SIDE_OUTER * fw, bottom),
    }


def _at_edge(box: FaceBox, width: int, height: int) -> bool:
    mx, my = EDGE_MARGIN * width, EDGE_MARGIN * height
    return box.x <= mx or box.y <= my or box.x + box.w >= width - mx or box.y + box.h >= height - my


@dataclass(frozen=True)
class MotionResult:
    motion: float
    region: str
    shares: dict[str, float]  # moved share per area


class FrameDiffMotion:
    """Frame-to-frame movement in the body area below and beside the face (keeps the previous frame).

    The area is the union of the areas of the previous and the current face box, so a student who slides
    in the picture moves pixels where the body was and where it is now, and both count.
    """

    def __init__(self, analysis_fps: float = 5.0) -> None:
        self._memory_frames = max(1, round(FACE_MEMORY_S * analysis_fps))
        self.reset()

    def reset(self) -> None:
        self._prev: np.ndarray | None = None
        self._prev_box: FaceBox | None = None  # the box used for the previous frame
        self._last_box: FaceBox | None = None  # the last face box seen
        self._last_box_age = 0

    def update(self, rgb: np.ndarray, face_box: FaceBox | None) -> MotionResult:
        h, w = rgb.shape[:2]
        scale = DIFF_WIDTH / w if w > DIFF_WIDTH else 1.0
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if scale != 1.0:
            grey = cv2.resize(grey, (sw, sh), interpolation=cv2.INTER_AREA)
        prev, self._prev = self._prev, grey

        face_now = face_box is not None
        if face_now:
            self._last_box, self._last_box_age = face_box, 0
        elif self._last_box is not None:
            self._last_box_age += 1
            if self._last_box_age > self._memory_frames:
                self._last_box = None
        box = face_box if face_now else self._last_box
        prev_box, self._prev_box = self._prev_box, box

        if prev is None or prev.shape != grey.shape:
            return MotionResult(0.0, "none", {})
        diff = grey.astype(np.int16) - prev.astype(np.int16)
        diff -= np.int16(np.median(diff))
        moved = np.abs(diff) > PIXEL_DIFF

        if box is None:  # nobody seen lately: the whole picture
            share = float(moved.mean())
            return MotionResult(share, "out_of_frame" if share >= NONE_BELOW else "none", {"frame": share})

        masks = {k: np.zeros((sh, sw), dtype=bool) for k in ("torso", "left", "right")}
        for b in (box, prev_box):
            if b is None:
                continue
            small = FaceBox(b.x * scale, b.y * scale, b.w * scale, b.h * scale, b.score)
            for k, r in body_regions(small, sw, sh).items():
                masks[k][r.y0 : r.y1, r.x0 : r.x1] = True
        masks["left"] &= ~masks["torso"]  # a pixel belongs to one area (the torso first)
        masks["right"] &= ~(masks["torso"] | masks["left"])
        areas = {k: int(m.sum()) for k, m in masks.items()}
        total_area = sum(areas.values())
        if total_area == 0:  # the whole body area is outside the picture
            return MotionResult(0.0, "none", {})
        counts = {k: int(np.count_nonzero(moved & m)) for k, m in masks.items()}
        motion = sum(counts.values()) / total_area
        shares = {k: counts[k] / areas[k] if areas[k] else 0.0 for k in masks}
        if motion < NONE_BELOW:
            region = "none"
        elif face_box is None or _at_edge(face_box, w, h):
            region = "out_of_frame"
        else:
            region = max(shares, key=lambda k: shares[k])
        return MotionResult(float(motion), region, shares)


# ============================================================================================================
# Pose
# ============================================================================================================


@dataclass(frozen=True)
class _PoseFrame:
    shoulders_visible: bool
    centre: np.ndarray | None  # shoulder centre, pixels
    width: float | None  # shoulder width, pixels
    wrists: tuple[np.ndarray | None, np.ndarray | None]  # left, right wrist in pixels when in view


def _in_view(lm, w: int, h: int) -> np.ndarray | None:
    vis = lm.visibility if lm.visibility is not None else 0.0
    if vis < VISIBLE:
        return None
    if not (-IN_FRAME_TOL <= lm.x <= 1 + IN_FRAME_TOL and -IN_FRAME_TOL <= lm.y <= 1 + IN_FRAME_TOL):
        return None
    return np.array([lm.x * w, lm.y * h])


def _pose_frame(landmarks, w: int, h: int) -> _PoseFrame:
    ls, rs = _in_view(landmarks[L_SHOULDER], w, h), _in_view(landmarks[R_SHOULDER], w, h)
    wrists = (_in_view(landmarks[L_WRIST], w, h), _in_view(landmarks[R_WRIST], w, h))
    if ls is None or rs is None:
        return _PoseFrame(False, None, None, wrists)
    width = float(np.linalg.norm(ls - rs))
    if width < 1.0:
        return _PoseFrame(False, None, None, wrists)
    return _PoseFrame(True, (ls + rs) / 2.0, width, wrists)


class _Baseline:
    """Where the shoulders and wrists usually are: running medians over a window of analysed frames."""

    def __init__(self, frames: int) -> None:
        self.seen = deque(maxlen=frames)  # shoulders visible, per frame
        self.centre = deque(maxlen=frames)
        self.width = deque(maxlen=frames)
        self.wrist_seen = (deque(maxlen=frames), deque(maxlen=frames))
        self.wrist_pos = (deque(maxlen=frames), deque(maxlen=frames))

    def add(self, p: _PoseFrame) -> None:
        self.seen.append(p.shoulders_visible)
        if p.shoulders_visible:
            self.centre.append(p.centre)
            self.width.append(p.width)
        for i in (0, 1):
            self.wrist_seen[i].append(p.wrists[i] is not None)
            if p.wrists[i] is not None:
                self.wrist_pos[i].append(p.wrists[i])

    @property
    def ready(self) -> bool:
        return len(self.seen) >= MIN_BASELINE

    def shoulders_usual(self) -> bool:
        return self.ready and float(np.mean(self.seen)) >= USUAL and len(self.width) >= MIN_BASELINE

    def wrist_usual(self, i: int) -> bool:
        return self.ready and float(np.mean(self.wrist_seen[i])) >= HAND_USUAL

    def wrist_place(self, i: int) -> np.ndarray | None:
        """The usual place of wrist ``i`` if it was in view in enough baseline frames."""
        if len(self.wrist_pos[i]) < MIN_BASELINE:
            return None
        return np.median(np.array(self.wrist_pos[i]), axis=0)


def pose_motion(p: _PoseFrame, base: _Baseline, w: int) -> tuple[float, str]:
    """(motion 0..1, region) of one pose frame against the baseline (before the frame is added to it)."""
    if not base.ready:
        return 0.0, "none"
    if not p.shoulders_visible:
        return (1.0, "out_of_frame") if base.shoulders_usual() else (0.0, "none")
    if len(base.width) < MIN_BASELINE:  # shoulders not usually seen: measure from this frame on
        return 0.0, "none"
    c0 = np.median(np.array(base.centre), axis=0)
    w0 = float(np.median(np.array(base.width)))
    shift = p.centre - c0
    scores: dict[str, float] = {}
    s_shift = float(np.linalg.norm(shift)) / w0
    s_scale = abs(p.width / w0 - 1.0)
    if abs(shift[0]) > abs(shift[1]) and abs(shift[0]) / w0 > s_scale:
        scores["left" if shift[0] < 0 else "right"] = s_shift + s_scale
    else:
        scores["torso"] = s_shift + s_scale
    for i in (0, 1):
        pos = p.wrists[i]
        if pos is None:
            if base.wrist_usual(i):  # a hand usually in view has left it
                scores["out_of_frame"] = max(scores.get("out_of_frame", 0.0), HAND_LEFT)
            continue
        place = base.wrist_place(i)
        if place is not None:
            d = float(np.linalg.norm(pos - place)) / w0
        else:  # a hand that was (almost) never in view came into it
            d = HAND_APPEARED
        side = "left" if pos[0] < p.centre[0] else "right"
        if pos[0] < IN_FRAME_TOL * w or pos[0] > (1 - IN_FRAME_TOL) * w:
            side = "out_of_frame"  # reaching out at the picture's edge
        scores[side] = max(scores.get(side, 0.0), d)
    region, score = max(scores.items(), key=lambda kv: kv[1])
    motion = float(min(1.0, score))
    return motion, (region if motion >= NONE_BELOW else "none")


class BodyAnalyzer:
    """Upper-body movement of the student, one frame after another (see the module doc).

    ``use_pose=False`` runs only frame differencing (~0.5 ms per 640x480 frame). With ``use_pose=True``
    the pose model runs too (~16 ms CPU per 640x480 frame on one core, VIDEO mode; ~0.35 s to start; the frames
    between reuse its last figure): ``settings.body_movement.pose_every_n_frames`` frames after its last run if
    the body area moved since (differencing >= :data:`POSE_GATE`), ``pose_still_every_n_frames`` after it in any
    case (:meth:`_pose_due`); its figure is used whenever it sees the shoulders or has usually seen them, the
    differencing figure otherwise (``shoulders_visible`` and ``hands_visible`` come from the pose model in both
    cases).
    """

    def __init__(self, settings: EngineSettings | None = None, use_pose: bool = True) -> None:
        self.settings = settings or EngineSettings()
        fps = self.settings.analysis_fps if self.settings.analysis_fps > 0 else 5.0
        self._step_ms = max(1, round(1000.0 / fps))
        self._diff = FrameDiffMotion(fps)
        # the pose model runs on every n-th frame while things move, less often while nothing does; the frames
        # between reuse its last observation
        bm = self.settings.body_movement
        self._pose_every = max(1, int(bm.pose_every_n_frames))
        self._pose_still_every = max(self._pose_every, int(bm.pose_still_every_n_frames))
        self._baseline = _Baseline(max(MIN_BASELINE, round(BASELINE_S * fps / self._pose_every)))
        self._since_pose = 0
        self._moved = False
        self.pose_runs = 0
        self._last_pose_obs: BodyObservation | None = None
        self._last_ts: int | None = None
        self._landmarker = None
        if use_pose:
            self._landmarker = self._open_landmarker()

    @staticmethod
    def _open_landmarker():
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=_pose_bundle_for_engine()),
            running_mode=vision.RunningMode.VIDEO,
            num_poses=1,
            output_segmentation_masks=False,
        )
        return vision.PoseLandmarker.create_from_options(options)

    @property
    def uses_pose(self) -> bool:
        return self._landmarker is not None

    def _timestamp(self, timestamp_ms: int | None) -> int:
        if timestamp_ms is None:
            ts = 0 if self._last_ts is None else self._last_ts + self._step_ms
        else:
            ts = int(timestamp_ms)
            if self._last_ts is not None and ts <= self._last_ts:  # VIDEO mode needs rising timestamps
                ts = self._last_ts + 1
        self._last_ts = ts
        return ts

    def analyze(self, rgb: np.ndarray, face_box: FaceBox | None, timestamp_ms: int | None = None) -> BodyObservation:
        rgb = check_rgb(rgb)
        diff = self._diff.update(rgb, face_box)
        if self._landmarker is None:
            return BodyObservation(motion=diff.motion, region=diff.region, source="motion")
        last = self._last_pose_obs
        self._since_pose += 1
        self._moved = self._moved or diff.motion >= POSE_GATE
        if last is not None and not self._pose_due():
            if last.source == "pose":
                return last
            return BodyObservation(diff.motion, diff.region, last.shoulders_visible, last.hands_visible, source="motion")
        self._since_pose, self._moved = 0, False
        self.pose_runs += 1

        import mediapipe as mp

        ts = self._timestamp(timestamp_ms)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        result = self._landmarker.detect_for_video(image, ts)
        h, w = rgb.shape[:2]
        if result.pose_landmarks:
            p = _pose_frame(result.pose_landmarks[0], w, h)
        else:
            p = _PoseFrame(False, None, None, (None, None))
        hands = sum(x is not None for x in p.wrists)
        motion, region = pose_motion(p, self._baseline, w)
        use_pose = p.shoulders_visible and len(self._baseline.width) >= MIN_BASELINE
        use_pose = use_pose or (not p.shoulders_visible and self._baseline.shoulders_usual())
        self._baseline.add(p)
        if use_pose:
            obs = BodyObservation(motion, region, p.shoulders_visible, hands, source="pose")
        else:
            obs = BodyObservation(diff.motion, diff.region, p.shoulders_visible, hands, source="motion")
        self._last_pose_obs = obs
        return obs

    def _pose_due(self) -> bool:
        """The pose model runs ``pose_every_n_frames`` after its last run if the body area moved since (frame
        differencing at or above :data:`POSE_GATE`: still shoulders and hands cannot have a new pose; the head is
        the face stage's), and ``pose_still_every_n_frames`` after it in any case."""
        if self._since_pose >= self._pose_still_every:
            return True
        return self._moved and self._since_pose >= self._pose_every

    def reset(self) -> None:
        """Forget the previous frame and the usual place (a new session starts)."""
        self._diff.reset()
        self._baseline = _Baseline(self._baseline.seen.maxlen or MIN_BASELINE)
        self._last_pose_obs = None
        self._since_pose, self._moved = 0, False

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> "BodyAnalyzer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # the Tasks object logs an error if it is collected while open
        try:
            self.close()
        except Exception:
            pass
