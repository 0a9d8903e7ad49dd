"""Frame analysers: faces (detection, landmarks, head pose, gaze), body movement, camera checks.

The face stage is imported lazily (MediaPipe loads on first use)::

    from proctor.vision import FaceAnalyzer, count_faces_in_photo
"""

from __future__ import annotations

from typing import Any

__all__ = ["FaceAnalyzer", "count_faces_in_photo", "head_pose_from_landmarks", "gaze_from_blendshapes"]


def __getattr__(name: str) -> Any:
    if name in ("FaceAnalyzer", "count_faces_in_photo"):
        from proctor.vision import faces

        return getattr(faces, name)
    if name == "head_pose_from_landmarks":
        from proctor.vision.head_pose import head_pose_from_landmarks

        return head_pose_from_landmarks
    if name == "gaze_from_blendshapes":
        from proctor.vision.gaze import gaze_from_blendshapes

        return gaze_from_blendshapes
    raise AttributeError(f"module 'proctor.vision' has no attribute {name!r}")
