"""Thresholds of the room-scan check, in one pydantic model.

``EngineSettings`` does not carry it yet; :func:`room_scan_settings` takes ``settings.room_scan`` when the
engine settings have that field, a :class:`RoomScanSettings` as is, and the defaults otherwise.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class RoomScanSettings(BaseModel):
    # Pass/fail
    min_coverage_deg: float = 345.0  # angle of the room seen in usable frames (field-of-view union, 0..360)
    max_speed_deg_s: float = 90.0  # turning faster than this is "too fast" (normal sweeps on the corpus peak
    #                                at 65-77 deg/s, the fast sweeps cruise at ~145 deg/s with 40 px of blur)
    slow_down_ratio: float = 0.85  # the live guide says "slow down" above this share of max_speed_deg_s
    max_too_fast_share: float = 0.25  # above this share of the turning time too fast, the scan is too fast
    max_lost_share: float = 0.2  # above this share of frame pairs not matched, the estimate is not trusted
    # Frame quality
    blur_ratio: float = 0.35  # horizontal/vertical gradient energy below this while turning = motion blur
    blur_min_speed_deg_s: float = 20.0  # a low ratio only counts as motion blur when turning at least this fast
    dark_mean: float = 25.0  # mean luma below this: nothing can be seen
    flat_std: float = 8.0  # luma standard deviation below this: covered / blank
    # Tracking
    track_width: int = 160  # frames are scaled to this width for motion estimation
    min_quality: float = 1.3  # correlation peak / second peak below this: the frame pair is not matched
    max_coast_s: float = 0.5  # after this long without a match the turn is no longer extrapolated
    pitch_min_turn_deg: float = 30.0  # camera pitch is estimated (and corrected for) after this much turning
    # Evidence
    strip_step_deg: float = 30.0  # one thumbnail per this many degrees of the room
    strip_thumb_width: int = 160
    face_fps: float = 15.0  # face detection rate during the scan (frames per second of video, at most)
    face_min_score: float = 0.5  # full-range detector confidence for a face to be reported
    face_merge_deg: float = 10.0  # detections closer than this (room angle) are one sighting


def room_scan_settings(settings: Any = None) -> RoomScanSettings:
    if settings is None:
        return RoomScanSettings()
    if isinstance(settings, RoomScanSettings):
        return settings
    own = getattr(settings, "room_scan", None)
    if isinstance(own, RoomScanSettings):
        return own
    if own is not None and hasattr(own, "model_dump"):
        return RoomScanSettings.model_validate(own.model_dump())
    base = RoomScanSettings()
    faces = getattr(settings, "faces", None)
    if faces is not None and hasattr(faces, "detector_min_score"):
        base = base.model_copy(update={"face_min_score": float(faces.detector_min_score)})
    blocked = getattr(settings, "camera_blocked", None)
    if blocked is not None and hasattr(blocked, "dark_mean"):
        base = base.model_copy(update={"dark_mean": float(blocked.dark_mean), "flat_std": float(blocked.flat_std)})
    return base
