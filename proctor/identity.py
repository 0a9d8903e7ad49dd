"""Identity: enrol a student from one to three photos, then verify live faces against the enrolment.

The descriptor is dlib's ResNet face model (128-d, 99.38% on LFW) on a face chip aligned by dlib's 5-point
shape predictor, the recipe of the ``face_recognition`` package, called here directly (that package is
never imported: it quits the process when its models package is missing). What this module adds, each
measured on ``../shared/data/faces`` with ``benchmarks/identity_eval.py``:

- **Enrolment descriptors are averaged over 10 jittered chips** (small random rotation, zoom, shift and a
  mirror flip, generated with a fixed seed so an enrolment is reproducible). Live checks use one plain chip,
  so a check costs one network pass. Enrolment photo vs live photo, all ordered pairs of the set: EER 0.49%
  (plain recipe on both sides, same detections: 0.81%); see :data:`CALIBRATED_THRESHOLD` for the figures.
  Tried and not kept (no gain on the set): mirror averaging or landmark averaging over shifted boxes for
  the live chip, anti-aliased (area-resampled) chips, padding the picture for faces at its edge.
- **Several enrolment photos: the mean distance** to the enrolment descriptors is the score. It stays on the
  scale of a single-photo distance, so one calibrated threshold serves 1, 2 or 3 photos; on the set the
  minimum distance did no better and shrinks with every photo added (an impostor then needs to resemble
  only one photo), which would call for a threshold per photo count.
- Face boxes follow the engine's convention (MediaPipe full-range detector geometry, as produced by
  ``proctor.vision.faces``); a box is mapped to the rectangle dlib's shape predictor was trained on
  (:data:`MEDIAPIPE_TO_DLIB_SIDE`). :meth:`FaceEncoder.find_faces` returns boxes in the same convention.

Enrolment photos must each hold exactly one clear face, large and sharp enough; otherwise
:class:`EnrolmentError` says which photo and why.

Cost, one core (``taskset -c 0``), 640x480 webcam frame: one live check (:func:`verify` with a box: landmarks
and chip ~1 ms, one network pass, distance) 75..82 ms; :func:`best_match` costs that per face. At one check
every 5 s this is ~1.6% of a core. Enrolling one photo (detection + 10 network passes) ~1.1 s.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from proctor.frames import check_rgb
from proctor.media import MediaError, decode_image_bytes, load_image
from proctor.model_files import model_path, model_versions
from proctor.settings import MAX_ENROL_PHOTOS
from proctor.signals import FaceBox, IdentityCheck

# --- calibrated figures ------------------------------------------------------------------------------------

# The same/different decision threshold on the (mean) descriptor distance, calibrated with
# benchmarks/identity_eval.py on ../shared/data/faces (22 people, 58 photos; each photo in turn is the enrolment
# photo and every other photo the live face: 204 same-person and 3,102 different-person trials).
# Chosen at a FAR target of 0.1%: the middle of the interval of thresholds that let at most 0.1% of the
# impostor trials through (between the 3rd and 4th closest impostor trials, 0.5056 and 0.5150).
# At 0.51: FAR 0.097% (3 of 3,102: TV-show crops eddie/evan both ways, Matt Damon 02 vs Leonardo DiCaprio 02),
# FRR 4.4% (9 of 204: 8 involve Jennifer Aniston's photo 02, 1 Alex Lacamoire 01/02); enrolled with 2 or 3
# photos: FAR 0%, FRR 2.0% / 1.1%. The EER point of the same trials is 0.575 (EER 0.49%: FAR 0.48%, FRR 0.49%).
# Why a FAR target and not the EER point: a false match lets an impostor sit the exam unnoticed, while a false
# mismatch only raises an event for a proctor to review, and only after two consecutive checks mismatch
# (identity.min_mismatches). The set's same-person pairs are years apart (make-up, age, studio light); in an
# exam the enrolment photo is taken the same day with the same camera, so live same-person distances are far
# lower (TV-show clip, enrolment crop vs frames: 0.26..0.48). Between 0.51 and the EER point sit the
# look-alike impostors the descriptor confuses most (e.g. young East-Asian men vs the TV-show crops: a webcam
# clip of a stranger scores 0.46..0.65 against them). Raise it per exam (``identity.threshold``) to trade
# impostor protection for fewer flags.
CALIBRATED_THRESHOLD: float = 0.51

ENROL_JITTERS = 10  # jittered chips averaged per enrolment photo (4..30 all gave the same EER on the set)
ENROL_MIN_FACE_PX = 80  # smallest face (box side, pixels) accepted on an enrolment photo (set: 107..555 px)
# Sharpness of an enrolment face (:func:`chip_sharpness`, on the aligned chip the network sees). The 58 photos
# of faces/: 18.3 .. 46 for the four soft TV-show frame crops, 77 .. 2,600 for the others. The same photos
# blurred (Gaussian, sigma in chip pixels): sigma 1: 5.4 .. 54; 1.5: 3.9 .. 23; 2: 3.0 .. 12.3; 3: <= 5.1.
# The floor between the softest real photo and a 2-pixel blur:
ENROL_MIN_SHARPNESS = 15.0
SECOND_FACE_RATIO = 0.5  # a second face at least this fraction of the largest one's side makes a photo ambiguous
# largest enrolment photo, read from its header before decoding (a 12 MP phone photo is 4000x3000): a small
# file can claim 40000x40000 px, gigabytes once decoded
ENROL_MAX_PIXELS = 4096 * 4096
# MediaPipe full-range box side -> dlib HOG box side (same centre): median over the 54 photos of faces/
# where the face lies fully inside the picture (0.900; centres agree within 1% of the side).
MEDIAPIPE_TO_DLIB_SIDE = 0.90
DETECT_MAX_SIDE = 1024  # photos are scaled down to this before face detection (boxes are mapped back)
DETECT_UPSAMPLE = 1  # dlib HOG upsampling: finds faces down to ~40 px on the scaled picture
CHIP_SIZE = 150  # the ResNet model's input
CHIP_PADDING = 0.25
DESCRIPTOR_SIZE = 128
ENROLMENT_FORMAT = 1

REASONS = {
    "unreadable": "not a readable image",
    "no_face": "no face found",
    "multiple_faces": "two or more faces",
    "face_too_small": "face too small",
    "too_blurred": "face too blurred",
    "too_many_photos": "too many photos",
    "too_many_pixels": "picture too large",
}


class EnrolmentError(ValueError):
    """An enrolment photo that cannot be used: ``photo_index`` (0-based) and ``reason`` (a key of REASONS)."""

    def __init__(self, photo_index: int, reason: str, detail: str = "", count: int | None = None):
        self.photo_index = photo_index
        self.reason = reason
        self.detail = detail
        where = f"photo {photo_index + 1}" + (f" of {count}" if count else "") + f" (index {photo_index})"
        text = f"{where}: {REASONS.get(reason, reason)}"
        super().__init__(f"{text} ({detail})" if detail else text)


class NoFaceError(ValueError):
    """No face was found where one was needed (encode/verify without a box)."""


def model_version() -> str:
    """The descriptor model's identity: embeddings of different versions cannot be compared."""
    v = model_versions()
    return f"{v['face_recognition_resnet']}+{v['shape_predictor_5']}"


@dataclass
class Enrolment:
    embeddings: np.ndarray  # (N, 128) float64, one per photo
    photos: int
    model_version: str

    def __post_init__(self) -> None:
        e = np.asarray(self.embeddings, dtype=np.float64)
        if e.ndim != 2 or e.shape[1] != DESCRIPTOR_SIZE or not 1 <= e.shape[0] <= MAX_ENROL_PHOTOS:
            raise ValueError(f"an enrolment holds 1 to {MAX_ENROL_PHOTOS} descriptors of {DESCRIPTOR_SIZE} values, "
                             f"got shape {e.shape}")
        if not np.isfinite(e).all():
            raise ValueError("an enrolment descriptor holds a non-finite value")
        self.embeddings = e

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (floats kept to full precision by repr)."""
        return {"format": ENROLMENT_FORMAT, "model": self.model_version, "photos": int(self.photos),
                "embeddings": [[float(x) for x in row] for row in self.embeddings]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Enrolment":
        if not isinstance(data, dict):
            raise ValueError(f"an enrolment is a dict, got {type(data).__name__}")
        if data.get("format", ENROLMENT_FORMAT) != ENROLMENT_FORMAT:
            raise ValueError(f"unknown enrolment format {data.get('format')!r}")
        try:
            emb = np.asarray(data["embeddings"], dtype=np.float64)
            version = str(data.get("model", data.get("model_version")))
            photos = int(data.get("photos", len(emb)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not an enrolment record: {exc}") from exc
        return cls(emb, photos, version)


class FaceEncoder:
    """dlib's face models: loaded once per process and shared by every encoder (one call at a time)."""

    def __init__(self) -> None:
        import dlib

        self._dlib = dlib
        self._shape, self._net, self._hog, self._lock = _models()
        self.model_version = model_version()

    # --- detection -----------------------------------------------------------------------------------------
    def find_faces(self, rgb: np.ndarray) -> list[FaceBox]:
        """Faces on a photo, largest first, in the engine's box convention (dlib HOG, upsample 1, on the photo
        scaled to at most 1024 px; ``score`` is the HOG margin)."""
        rgb = _as_rgb(rgb)
        h, w = rgb.shape[:2]
        scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
        small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA) if scale < 1 else rgb
        with self._lock:
            rects, scores, _ = self._hog.run(small, DETECT_UPSAMPLE, 0.0)
        boxes = [_from_dlib(r, 1.0 / scale, float(s)) for r, s in zip(rects, scores)]
        return sorted(boxes, key=lambda b: b.area, reverse=True)

    # --- descriptors ---------------------------------------------------------------------------------------
    def chip(self, rgb: np.ndarray, box: FaceBox) -> np.ndarray:
        """The aligned 150x150 face chip the network sees."""
        return self.chip_and_mask(rgb, box, mask=False)[0]

    def chip_and_mask(self, rgb: np.ndarray, box: FaceBox, mask: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """The aligned chip and (``mask``) which of its pixels come from inside the picture (True)."""
        rgb = np.ascontiguousarray(_as_rgb(rgb))
        with self._lock:
            shape = self._shape(rgb, _to_dlib(self._dlib, box))
            chip = self._dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
            if not mask:
                return chip, None
            inside = self._dlib.get_face_chip(np.full(rgb.shape[:2], 255, np.uint8), shape, size=CHIP_SIZE,
                                              padding=CHIP_PADDING)
        return chip, inside >= 255

    def describe(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """(N, 128) descriptors of aligned chips."""
        with self._lock:
            out = self._net.compute_face_descriptor([np.ascontiguousarray(c) for c in chips])
        return np.asarray([np.asarray(v) for v in out], dtype=np.float64)

    def encode(self, rgb: np.ndarray, box: FaceBox | None = None, *, jitters: int = 0) -> np.ndarray:
        """The 128-d descriptor of the face in ``box`` (no detection is run), or of the largest face found.

        ``jitters`` > 0 averages that many jittered chips (enrolment); 0 is one plain chip (live checks).
        """
        if box is None:
            faces = self.find_faces(rgb)
            if not faces:
                raise NoFaceError("no face found in the image")
            box = faces[0]
        chip = self.chip(rgb, box)
        chips = jitter_chips(chip, jitters) if jitters > 0 else [chip]
        return self.describe(chips).mean(axis=0)


_models_lock = threading.Lock()
_loaded: tuple[Any, Any, Any, threading.Lock] | None = None


def _models() -> tuple[Any, Any, Any, threading.Lock]:
    """(shape predictor, descriptor network, HOG detector, the lock that serialises their use), loaded once."""
    global _loaded
    with _models_lock:
        if _loaded is None:
            import dlib

            _loaded = (dlib.shape_predictor(str(model_path("shape_predictor_5"))),
                       dlib.face_recognition_model_v1(str(model_path("face_recognition_resnet"))),
                       dlib.get_frontal_face_detector(), threading.Lock())
        return _loaded


_default: FaceEncoder | None = None
_default_lock = threading.Lock()


def default_encoder() -> FaceEncoder:
    """One shared encoder per process."""
    global _default
    with _default_lock:
        if _default is None:
            _default = FaceEncoder()
        return _default


# --- enrolment ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EnrolledPhoto:
    embedding: np.ndarray  # (128,) mean over the jittered chips
    box: FaceBox
    chip: np.ndarray  # the aligned 150x150 chip
    sharpness: float


def enrol(photos: Sequence[np.ndarray | bytes | str | Path], encoder: FaceEncoder | None = None) -> Enrolment:
    """An enrolment from 1 to 3 photos (RGB arrays, or encoded image bytes, or paths).

    Each photo must hold exactly one clear face, at least ``ENROL_MIN_FACE_PX`` wide and sharp enough;
    otherwise :class:`EnrolmentError` names the photo and the reason (a fourth photo is ``too_many_photos``).
    Every photo is read and checked before any descriptor is made, so a bad photo fails fast.
    """
    photos = list(photos)
    n = len(photos)
    if n == 0:
        raise ValueError(f"enrol from 1 to {MAX_ENROL_PHOTOS} photos, got none")
    if n > MAX_ENROL_PHOTOS:
        raise EnrolmentError(MAX_ENROL_PHOTOS, "too_many_photos",
                             f"enrol from 1 to {MAX_ENROL_PHOTOS} photos, got {n}", n)
    images = [_read_photo(photo, i, n) for i, photo in enumerate(photos)]  # every photo readable first,
    enc = encoder or default_encoder()
    checked = [check_enrolment_photo(rgb, enc, i, n) for i, rgb in enumerate(images)]  # then every face usable,
    embeddings = [_enrolment_descriptor(chip, enc) for _, chip, _ in checked]  # then the costly descriptors
    return Enrolment(np.vstack(embeddings), n, enc.model_version)


def enrol_photo(rgb: np.ndarray, encoder: FaceEncoder, index: int = 0, count: int | None = None) -> EnrolledPhoto:
    """Check one enrolment photo (:class:`EnrolmentError` if unusable) and make its descriptor."""
    box, chip, sharp = check_enrolment_photo(rgb, encoder, index, count)
    return EnrolledPhoto(_enrolment_descriptor(chip, encoder), box, chip, sharp)


def check_enrolment_photo(rgb: np.ndarray, encoder: FaceEncoder, index: int = 0,
                          count: int | None = None) -> tuple[FaceBox, np.ndarray, float]:
    """(face box, aligned chip, sharpness) of a usable enrolment photo; :class:`EnrolmentError` otherwise."""
    try:
        rgb = _as_rgb(rgb)
    except ValueError as exc:
        raise EnrolmentError(index, "unreadable", str(exc), count) from exc
    h, w = rgb.shape[:2]
    if min(h, w) < ENROL_MIN_FACE_PX:
        raise EnrolmentError(index, "face_too_small",
                             f"the picture is {w}x{h} px; a face needs at least {ENROL_MIN_FACE_PX} px", count)
    faces = encoder.find_faces(rgb)
    if not faces:
        raise EnrolmentError(index, "no_face", "use a photo with the student's face, frontal and well lit", count)
    main = faces[0]
    others = [f for f in faces[1:] if f.side >= SECOND_FACE_RATIO * main.side]
    if others:
        raise EnrolmentError(index, "multiple_faces",
                             f"{1 + len(others)} faces found; use a photo with only the student", count)
    px = main.side * MEDIAPIPE_TO_DLIB_SIDE
    if px < ENROL_MIN_FACE_PX:
        raise EnrolmentError(index, "face_too_small",
                             f"the face is {px:.0f} px wide; at least {ENROL_MIN_FACE_PX} px is needed", count)
    chip, inside = encoder.chip_and_mask(rgb, main)
    sharp = chip_sharpness(chip, inside)
    if sharp < ENROL_MIN_SHARPNESS:
        raise EnrolmentError(index, "too_blurred",
                             f"sharpness {sharp:.1f}, at least {ENROL_MIN_SHARPNESS:.0f} is needed", count)
    return main, chip, sharp


def _enrolment_descriptor(chip: np.ndarray, encoder: FaceEncoder) -> np.ndarray:
    return encoder.describe(jitter_chips(chip, ENROL_JITTERS)).mean(axis=0)


def chip_sharpness(chip: np.ndarray, inside: np.ndarray | None = None) -> float:
    """Variance of the Laplacian over the face (the chip's central 100x100 pixels, the eyes, nose and mouth),
    leaving out pixels from beyond the picture's edge (their black fill would read as sharp edges)."""
    grey = cv2.cvtColor(np.ascontiguousarray(chip), cv2.COLOR_RGB2GRAY).astype(np.float64)
    lap = cv2.Laplacian(grey, cv2.CV_64F)
    use = np.zeros(grey.shape, bool)
    m = (grey.shape[0] - 100) // 2
    use[m:m + 100, m:m + 100] = True
    if inside is not None:
        use &= cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if use.sum() < 100:
        return 0.0
    return float(lap[use].var())


# --- verification ------------------------------------------------------------------------------------------
def enrolment_distance(enrolment: Enrolment, descriptor: np.ndarray) -> float:
    """Mean Euclidean distance from a live descriptor to the enrolment's descriptors."""
    return float(np.linalg.norm(enrolment.embeddings - np.asarray(descriptor)[None, :], axis=1).mean())


def _threshold(settings: Any | None) -> float:
    return CALIBRATED_THRESHOLD if settings is None else float(settings.identity.threshold)


def _check_version(enrolment: Enrolment, encoder: FaceEncoder) -> None:
    if enrolment.model_version != encoder.model_version:
        raise ValueError(f"the enrolment was made with {enrolment.model_version!r}, this engine runs "
                         f"{encoder.model_version!r}: the student must enrol again")


def verify(enrolment: Enrolment, rgb: np.ndarray, box: FaceBox | None, settings: Any | None = None,
           encoder: FaceEncoder | None = None) -> IdentityCheck:
    """Compare the live face in ``box`` (the largest face found when ``None``) with the enrolment.

    ``match`` is ``distance <= threshold`` (``settings.identity.threshold``, else CALIBRATED_THRESHOLD).
    ``face_px`` is the box side: checks on faces below ``settings.identity.min_face_px`` should not count.
    """
    enc = encoder or default_encoder()
    _check_version(enrolment, enc)
    if box is None:
        faces = enc.find_faces(rgb)
        if not faces:
            raise NoFaceError("no face found in the frame")
        box = faces[0]
    threshold = _threshold(settings)
    d = enrolment_distance(enrolment, enc.encode(rgb, box))
    return IdentityCheck(distance=d, threshold=threshold, match=d <= threshold, face_px=float(box.side))


def best_match(enrolment: Enrolment, rgb: np.ndarray, boxes: Sequence[FaceBox], settings: Any | None = None,
               encoder: FaceEncoder | None = None, first_match: bool = False) -> tuple[int | None, IdentityCheck]:
    """Check every face in the frame: (index of the closest matching face or None, the closest face's check).

    The student is present if ANY face matches; a mismatch means no face in the frame matches.
    ``first_match=True`` checks the boxes in the order given and stops at the first that matches (its index and
    check): the answer to "is the student present" is the same and each face spared saves a descriptor (~75 ms).
    """
    if not boxes:
        raise ValueError("no face boxes to check")
    checks = []
    for i, b in enumerate(boxes):
        checks.append(verify(enrolment, rgb, b, settings, encoder))
        if first_match and checks[-1].match:
            return i, checks[-1]
    best = min(range(len(checks)), key=lambda i: checks[i].distance)
    return (best if checks[best].match else None), checks[best]


# --- helpers -----------------------------------------------------------------------------------------------
def jitter_chips(chip: np.ndarray, n: int, seed: int = 0) -> list[np.ndarray]:
    """``n`` jittered copies of a 150x150 chip (dlib's jitter: rotation within 3 degrees, zoom up to 3%,
    shift up to 2%, mirror half the time), from a fixed seed so the result is reproducible."""
    rng = np.random.default_rng(seed)
    size = chip.shape[1]
    c = (size / 2.0, size / 2.0)
    out = []
    for _ in range(n):
        angle = rng.uniform(-3.0, 3.0)
        zoom = 1.0 / rng.uniform(0.97, 1.0)
        tx, ty = rng.uniform(-0.02, 0.02, 2) * size
        m = cv2.getRotationMatrix2D(c, angle, zoom)
        m[:, 2] += (tx, ty)
        j = cv2.warpAffine(chip, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if rng.random() < 0.5:
            j = j[:, ::-1]
        out.append(np.ascontiguousarray(j))
    return out


def _to_dlib(dlib: Any, box: FaceBox):
    """Engine box (MediaPipe geometry) -> the square rectangle dlib's shape predictor expects."""
    side = max(1.0, min(box.w, box.h) * MEDIAPIPE_TO_DLIB_SIDE)
    cx, cy = box.x + box.w / 2.0, box.y + box.h / 2.0
    left, top, n = int(round(cx - side / 2)), int(round(cy - side / 2)), int(round(side))
    return dlib.rectangle(left, top, left + n - 1, top + n - 1)


def _from_dlib(r: Any, scale: float, score: float) -> FaceBox:
    side = (r.right() - r.left() + 1) * scale / MEDIAPIPE_TO_DLIB_SIDE
    cx = (r.left() + r.right() + 1) / 2.0 * scale
    cy = (r.top() + r.bottom() + 1) / 2.0 * scale
    return FaceBox(cx - side / 2, cy - side / 2, side, side, score)


def _as_rgb(img: np.ndarray) -> np.ndarray:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.size == 0:
        raise ValueError(f"expected an RGB uint8 image, got {getattr(img, 'dtype', type(img).__name__)}")
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.ndim == 3 and img.shape[2] == 4:
        return np.ascontiguousarray(img[:, :, :3])
    return check_rgb(img)


def header_pixels(data: bytes) -> tuple[int, int] | None:
    """(width, height) from an encoded image's header, without decoding it; None if the header is unreadable.
    A size beyond Pillow's own bomb limit raises :class:`OverflowError`."""
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: the caller judges the size
            with Image.open(io.BytesIO(data)) as im:  # reads the header only
                return int(im.width), int(im.height)
    except Image.DecompressionBombError as exc:
        raise OverflowError(str(exc)) from exc
    except Exception:  # noqa: BLE001 - any header Pillow cannot read: no size known
        return None


def check_photo_header(data: bytes, index: int = 0, count: int | None = None) -> None:
    """:class:`EnrolmentError` (``too_many_pixels`` / ``unreadable``) before any decoding, from the header."""
    try:
        size = header_pixels(data)
    except OverflowError:
        raise EnrolmentError(index, "too_many_pixels", f"at most {ENROL_MAX_PIXELS} pixels", count) from None
    if size is None:
        raise EnrolmentError(index, "unreadable", "JPEG, PNG, WebP or BMP expected", count)
    if size[0] * size[1] > ENROL_MAX_PIXELS:
        raise EnrolmentError(index, "too_many_pixels",
                             f"{size[0]}x{size[1]} px; at most {ENROL_MAX_PIXELS} pixels", count)


def _read_photo(photo: Any, index: int, count: int) -> np.ndarray:
    try:
        if isinstance(photo, (bytes, bytearray, memoryview)):
            check_photo_header(bytes(photo), index, count)
            return _as_rgb(decode_image_bytes(bytes(photo), f"photo {index + 1}"))
        if isinstance(photo, (str, Path)):
            return _as_rgb(load_image(photo))
        if photo is None:
            raise ValueError("no image (None)")
        return _as_rgb(photo)
    except EnrolmentError:
        raise
    except (MediaError, ValueError, cv2.error) as exc:
        raise EnrolmentError(index, "unreadable", str(exc), count) from exc


__all__ = [
    "CALIBRATED_THRESHOLD", "EnrolledPhoto", "Enrolment", "EnrolmentError", "FaceEncoder", "NoFaceError",
    "best_match", "check_enrolment_photo", "chip_sharpness", "default_encoder", "enrol", "enrol_photo",
    "enrolment_distance", "model_version", "verify",
]
