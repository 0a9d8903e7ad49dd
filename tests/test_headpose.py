"""Head pose: geometry (the PnP and its sign conventions) on synthetic projections, accuracy on Pointing'04."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from proctor.vision.head_pose import canonical_face, head_pose_from_landmarks


def test_canonical_face_model_is_read_from_the_landmarker_bundle():
    face = canonical_face()
    assert face.vertices.shape == (468, 3)
    # left-right symmetric about x = 0 (cm): the outer eye corners 33 and 263 mirror each other
    assert face.vertices[33, 0] == pytest.approx(-face.vertices[263, 0], abs=1e-4)
    assert face.vertices[1, 2] > face.vertices[234, 2]  # nose tip nearer the viewer than the cheek's edge
    assert 20 <= len(face.basis_ids) <= 60 and face.basis_ids.max() < 468
    assert np.all(face.basis_weights > 0)


def _project(yaw: float, pitch: float, roll: float, centre_px=(320.0, 240.0), distance_cm=60.0, w=640, h=480):
    """Landmark pixels of the canonical face posed with project-convention angles, seen by a pinhole f = w."""
    v = canonical_face().vertices * np.array([1.0, -1.0, -1.0])  # OpenCV object frame: y down, z into the head
    f = float(w)
    # the head's position: a ray through centre_px at the given distance
    ray = np.array([(centre_px[0] - w / 2) / f, (centre_px[1] - h / 2) / f, 1.0])
    t = ray / np.linalg.norm(ray) * distance_cm
    # pose relative to the line of sight: forward = -z in object frame; build R = R_los^T @ R_angles
    ya, pa, ra = map(math.radians, (yaw, pitch, roll))
    # forward direction (toward the camera when frontal) in line-of-sight camera coordinates
    fwd = np.array([-math.sin(ya) * math.cos(pa), -math.sin(pa), -math.cos(ya) * math.cos(pa)])
    z_axis = -fwd  # object +z (into the head) expressed in camera coordinates
    up_ref = np.array([0.0, -1.0, 0.0])
    x_axis = np.cross(z_axis, up_ref)
    x_axis /= np.linalg.norm(x_axis)
    y_axis = np.cross(z_axis, x_axis)
    r0 = np.column_stack([x_axis, y_axis, z_axis])
    roll_rot = cv2.Rodrigues(fwd / np.linalg.norm(fwd) * -ra)[0]  # clockwise in the image when ra > 0
    r = roll_rot @ r0
    # rotate from line-of-sight coordinates to camera coordinates
    d = t / np.linalg.norm(t)
    axis = np.cross([0.0, 0.0, 1.0], d)
    s = np.linalg.norm(axis)
    r_los = cv2.Rodrigues(axis / s * math.atan2(s, d[2]))[0] if s > 1e-9 else np.eye(3)
    r = r_los @ r
    cam = (r @ v.T).T + t
    return np.column_stack([f * cam[:, 0] / cam[:, 2] + w / 2, f * cam[:, 1] / cam[:, 2] + h / 2])


@pytest.mark.parametrize(
    "yaw,pitch,roll,centre",
    [(0, 0, 0, (320, 240)), (30, 0, 0, (320, 240)), (-45, 10, 0, (320, 240)), (0, 20, 0, (320, 240)),
     (0, -25, 0, (320, 240)), (0, 0, 15, (320, 240)), (20, -10, -10, (320, 240)),
     (0, 0, 0, (80, 240)), (0, 0, 0, (560, 100)), (35, 15, 5, (120, 380))],
)
def test_pose_is_recovered_from_exact_projections(yaw, pitch, roll, centre):
    pose = head_pose_from_landmarks(_project(yaw, pitch, roll, centre), 640, 480)
    assert pose is not None
    assert pose.yaw == pytest.approx(yaw, abs=0.5)
    assert pose.pitch == pytest.approx(pitch, abs=0.5)
    assert pose.roll == pytest.approx(roll, abs=0.5)


def test_signs_follow_the_project_conventions():
    # turned toward the image's left: the nose tip (1) moves left of the face's middle
    pts = _project(30, 0, 0)
    mid = (pts[234, 0] + pts[454, 0]) / 2
    assert pts[1, 0] < mid
    # looking up: the nose tip rises above where it is when frontal
    assert _project(0, 20, 0)[1, 1] < _project(0, 0, 0)[1, 1]
    # clockwise roll in the image: the forehead (10) moves right of the chin (152)
    p = _project(0, 0, 20)
    assert p[10, 0] > p[152, 0]


def test_bad_landmark_input_is_a_clear_error():
    with pytest.raises(ValueError):
        head_pose_from_landmarks(np.zeros((10, 2)), 640, 480)
    assert head_pose_from_landmarks(np.full((478, 2), np.nan), 640, 480) is None


# --------------------------------------------------------------------------------------------------------------
# Pointing'04 (data/headpose): measured yaw MAE 7.88 deg over 245 images with a pose (|pan| <= 60), pitch MAE
# 11.6 deg (|tilt| <= 30), 13 images without a detected face (all at tilt +-60/+-90) and 2 without landmarks.


@pytest.fixture(scope="module")
def pointing04(data_dir, manifest):
    """Errors of ``FaceAnalyzer(video=False)`` on every Pointing'04 image with |pan| <= 60."""
    from proctor.media import load_image
    from proctor.vision import FaceAnalyzer

    yaw, pitch, pairs, no_face, no_pose, n = [], [], [], [], [], 0
    with FaceAnalyzer(video=False) as fa:
        for f in manifest["files"]:
            if f.get("type") != "headpose" or abs(f["pan_deg"]) > 60:
                continue
            n += 1
            faces = fa.analyze(load_image(data_dir / f["path"]))
            if not faces:
                no_face.append(f["path"])
            elif faces[0].pose is None:
                no_pose.append(f["path"])
            else:
                p = faces[0].pose
                yaw.append(abs(p.yaw - f["pan_deg"]))
                pairs.append((f["pan_deg"], p.yaw))
                if abs(f["tilt_deg"]) <= 30:
                    pitch.append(abs(p.pitch - f["tilt_deg"]))
    a = np.array(pairs, dtype=float)
    return {"images": n, "no_face": no_face, "no_pose": no_pose, "yaw_n": len(yaw), "yaw_mae_deg": float(np.mean(yaw)),
            "yaw_slope": float(np.polyfit(a[:, 0], a[:, 1], 1)[0]), "pitch_n": len(pitch),
            "pitch_mae_deg_tilt_le_30": float(np.mean(pitch))}


def test_pointing04_yaw_accuracy(pointing04):
    r = pointing04
    assert r["images"] == 260
    assert r["yaw_n"] >= 240
    assert r["yaw_mae_deg"] <= 8.0, r
    # the estimates follow the labels (Pointing'04 labels are gaze targets: the head turns ~0.8 of them)
    assert 0.7 <= r["yaw_slope"] <= 1.1, r


def test_pointing04_pitch_and_misses(pointing04):
    r = pointing04
    assert r["pitch_n"] >= 175
    assert r["pitch_mae_deg_tilt_le_30"] <= 12.5, r
    # every image without a face or a pose is an extreme up/down look (|tilt| >= 60) or a 60-degree profile
    for path in r["no_face"] + r["no_pose"]:
        name = path.rsplit("/", 1)[-1]
        tilt, pan = (int(part[4:]) if part.startswith("tilt") else int(part[3:].split(".")[0])
                     for part in name.split("_"))
        assert abs(tilt) >= 60 or abs(pan) >= 60, path
