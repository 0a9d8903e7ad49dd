"""Head pose (yaw, pitch, roll in degrees) from the Face Landmarker's 2D landmarks and a rigid 3D face model.

Method: perspective-n-point with OpenCV's ``SOLVEPNP_SQPNP`` (a globally optimal solver: none of the flipped,
~180° rolled poses the default iterative solver lands on) between

- the 3D reference: MediaPipe's *canonical face model* (468 vertices, in cm), read at run time from the
  ``geometry_pipeline_metadata_landmarks.binarypb`` member of the Face Landmarker bundle (``face_landmarker.task``,
  already a declared model file: nothing extra is fetched). Only the 33 landmarks of that file's Procrustes
  basis are used: MediaPipe's own choice of points that stay put when the face moves (forehead, nose bridge,
  cheekbones, eye corners; no lips or jaw), so a smile or an open mouth does not turn the head;
- their 2D positions in the analysed image, in pixels.

The camera is a pinhole with the principal point at the image centre and a focal length equal to the image
width (a 53° horizontal field of view: the usual default when a webcam's calibration is unknown).

Angles are measured against the *line of sight* (from the head to the camera), not the optical axis: a student
sitting off-centre who looks straight at the camera has yaw 0. Pointing'04 labels are defined this way too (the
camera is the 0° marker). Without this correction a face 130 px right of centre in a 384 px image reads ~20° off.

Signs (see :mod:`proctor.signals`): yaw > 0 face turned toward the image's left, pitch > 0 looking up, roll > 0
head tilted clockwise in the image.

Measured on ``data/headpose`` (Pointing'04, |pan| <= 60): yaw MAE ~8.0°, pitch MAE ~11.6° (|tilt| <= 30); see
``tests/test_headpose.py`` and ``benchmarks/bench_faces.py``. The estimates track the labels linearly with a slope
of ~0.78: Pointing'04 subjects looked at wall markers, turning head *and eyes*, and the labels are the marker
angles, so the head alone turns less than the label (every method tried here, the Face Landmarker's own
transformation matrix included, shows the same compression).
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from proctor.model_files import model_path
from proctor.signals import HeadPose

GEOMETRY_MEMBER = "geometry_pipeline_metadata_landmarks.binarypb"


@dataclass(frozen=True)
class CanonicalFace:
    vertices: np.ndarray  # (468, 3) cm; x toward the subject's left (image right), y up, z toward the viewer
    basis_ids: np.ndarray  # landmark ids of the Procrustes basis (rigid points)
    basis_weights: np.ndarray


# --- a minimal protobuf wire-format reader (the file is small; no generated classes needed) -----------------


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, i


def _fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    out: list[tuple[int, int, int | bytes]] = []
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            value = buf[i:i + n]
            i += n
        elif wire == 5:
            value = buf[i:i + 4]
            i += 4
        elif wire == 1:
            value = buf[i:i + 8]
            i += 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((field, wire, value))
    return out


def _floats(entries: list[tuple[int, int, int | bytes]]) -> np.ndarray:
    """A repeated float field, packed (one length-delimited entry) or not (one fixed32 entry per value)."""
    parts = []
    for _, wire, value in entries:
        assert isinstance(value, bytes)
        parts.append(np.frombuffer(value, dtype="<f4"))
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def parse_geometry_metadata(data: bytes) -> CanonicalFace:
    """GeometryPipelineMetadata{canonical_mesh=1: Mesh3d{vertex_buffer=3 (x,y,z,u,v)*}, procrustes_landmark_basis=2}."""
    top = _fields(data)
    mesh_bytes = next(v for f, w, v in top if f == 1 and w == 2)
    assert isinstance(mesh_bytes, bytes)
    mesh = _fields(mesh_bytes)
    vb = _floats([e for e in mesh if e[0] == 3])
    if vb.size % 5:
        raise ValueError("canonical mesh vertex buffer is not x,y,z,u,v")
    vertices = vb.reshape(-1, 5)[:, :3].astype(np.float64)
    ids, weights = [], []
    for f, w, v in top:
        if f == 2 and isinstance(v, bytes):
            ref = {ff: vv for ff, ww, vv in _fields(v)}
            ids.append(int(ref.get(1, 0)))  # proto3 default 0 is omitted
            raw = ref.get(2, b"\0\0\0\0")
            weights.append(struct.unpack("<f", raw)[0] if isinstance(raw, bytes) else 0.0)
    if vertices.shape[0] < 468 or not ids:
        raise ValueError("geometry metadata without a canonical mesh or a Procrustes basis")
    return CanonicalFace(vertices, np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64))


@lru_cache(maxsize=1)
def canonical_face() -> CanonicalFace:
    with zipfile.ZipFile(model_path("face_landmarker")) as z:
        return parse_geometry_metadata(z.read(GEOMETRY_MEMBER))


# --- pose --------------------------------------------------------------------------------------------------

# canonical model (x right in the image, y up, z toward the viewer) -> OpenCV object frame (y down, z away)
_TO_CV = np.array([1.0, -1.0, -1.0])


@lru_cache(maxsize=1)
def _model_points() -> tuple[np.ndarray, np.ndarray]:
    face = canonical_face()
    ids = np.unique(face.basis_ids)
    return ids, np.ascontiguousarray(face.vertices[ids] * _TO_CV)


def _line_of_sight_rotation(t: np.ndarray) -> np.ndarray:
    """The rotation taking the direction camera->head onto the optical axis."""
    d = t / np.linalg.norm(t)
    axis = np.cross(d, [0.0, 0.0, 1.0])
    s = float(np.linalg.norm(axis))
    if s < 1e-9:
        return np.eye(3)
    rvec = axis / s * np.arctan2(s, d[2])
    return cv2.Rodrigues(rvec)[0]


def angles_from_rotation(r: np.ndarray) -> HeadPose:
    """Yaw, pitch, roll of a head rotation ``r`` (OpenCV object frame -> camera frame), project conventions."""
    forward = r @ np.array([0.0, 0.0, -1.0])  # the face's forward direction (toward the viewer when frontal)
    across = r @ np.array([1.0, 0.0, 0.0])  # ear to ear (image right when frontal)
    yaw = np.degrees(np.arctan2(-forward[0], -forward[2]))
    pitch = np.degrees(np.arctan2(-forward[1], np.hypot(forward[0], forward[2])))
    # yaw, then pitch, then roll about the forward axis: roll is the elevation of the ear-to-ear axis
    roll = np.degrees(np.arctan2(across[1], np.hypot(across[0], across[2])))
    return HeadPose(yaw=float(yaw), pitch=float(pitch), roll=float(roll))


def head_pose_from_landmarks(
    points_px: np.ndarray, width: int, height: int, focal_px: float | None = None
) -> HeadPose | None:
    """Head pose from the Face Landmarker's landmarks in pixels of a ``width`` x ``height`` image.

    ``points_px``: (>=468, 2) pixel coordinates. ``focal_px`` defaults to ``width``. Returns ``None`` when the
    solver fails (degenerate input).
    """
    pts = np.asarray(points_px, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] < 468 or pts.shape[1] < 2:
        raise ValueError(f"expected (>=468, 2) landmark pixels, got {pts.shape}")
    ids, obj = _model_points()
    img = np.ascontiguousarray(pts[ids, :2])
    if not np.all(np.isfinite(img)):
        return None
    f = float(focal_px or width)
    k = np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])
    try:
        ok, rvec, tvec = cv2.solvePnP(obj, img, k, None, flags=cv2.SOLVEPNP_SQPNP)
    except cv2.error:
        return None
    if not ok:
        return None
    r = cv2.Rodrigues(rvec)[0]
    t = tvec.ravel()
    if t[2] <= 0:
        return None
    return angles_from_rotation(_line_of_sight_rotation(t) @ r)
