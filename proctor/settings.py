"""One settings object for the engine: every threshold the rules use, with per-exam overrides.

``EngineSettings()`` holds the defaults (calibrated on ../shared/data where a figure says so);
``settings.with_overrides({"looking_away": {"yaw_deg": 40}})`` gives an exam its own copy.
Values can also come from the environment (``PROCTOR_LOOKING_AWAY__YAW_DEG=40``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# How many reference photos an enrolment takes (1 to this). A fixed limit of the identity step, not a per-exam
# setting: proctor.identity.enrol and the server's upload check both hold to it. It lives here, in a module
# with no image libraries, so the server's process can read it without loading OpenCV.
MAX_ENROL_PHOTOS = 3


class FaceSettings(BaseModel):
    detector_min_score: float = 0.5  # full-range detector confidence for a face to count
    # landmarks (head pose, gaze) for this many faces, largest first: the rules judge the student's pose only, and
    # further faces are counted and followed by the detector (each further face costs ~7.5 ms per frame)
    landmarker_max_faces: int = 1
    min_face_px: int = 24  # a detection smaller than this (box side) is ignored
    # video: full-range detection on every n-th frame (and at once when a tracked face is lost), landmark tracking
    # between; at 5 analysed fps a new face is found within 0.8 s, inside multiple_faces' 1 s (face counts on the
    # five clips of data/video identical to detecting on every 3rd frame)
    detect_every_n_frames: int = 4


class FaceMissingRule(BaseModel):
    min_duration_s: float = 3.0


class MultipleFacesRule(BaseModel):
    min_duration_s: float = 1.0


class LookingAwayRule(BaseModel):
    yaw_deg: float = 30.0  # |yaw - neutral yaw| above this is looking away
    pitch_deg: float = 25.0  # |pitch - neutral pitch| above this is looking away
    gaze_off: float = 0.6  # eye blendshape look-out/in/up/down score above this is looking off-screen
    min_duration_s: float = 3.0


class IdentityRule(BaseModel):
    threshold: float = 0.51  # ResNet descriptor distance at FAR <= 0.1% on all pairs of data/faces (identity.CALIBRATED_THRESHOLD)
    check_interval_s: float = 60.0  # identity is re-checked this often through the whole exam, and also ...
    recheck_s: float = 2.0  # ... this soon when the number of faces changed or after a mismatch (doubling while
    # mismatches go on), and to confirm a match that may end an open identity_mismatch
    min_mismatches: int = 2  # consecutive mismatching checks before an event is raised ...
    min_matches: int = 2  # consecutive matching checks that end an open identity_mismatch
    min_duration_s: float = 3.0  # ... and the mismatching checks must span this long (as face_missing's 3 s)
    min_face_px: int = 60  # a face smaller than this is not used for identity


class SpeechRule(BaseModel):
    min_duration_s: float = 1.0


class NoiseRule(BaseModel):
    level_dbfs: float = -30.0  # non-speech sound louder than this is noise
    min_duration_s: float = 0.5


class AudioSettings(BaseModel):
    """The speech detector (proctor.audio): Silero VAD v6 run with onnxruntime, gated by webrtcvad."""

    # Silero's published defaults (its get_speech_timestamps: threshold 0.5, neg_threshold = threshold - 0.15);
    # benchmarks/audio_eval.py reports them in-sample and a leave-one-file-out choice from a small grid beside them
    threshold: float = 0.5  # a window becomes speech when the model's speech probability reaches this ...
    release_threshold: float = 0.35  # ... and stays speech while it is at least this
    hangover_s: float = 0.09  # speech is held this long after the probability fell below release_threshold
    vad_mode: int = 2  # webrtcvad aggressiveness 0..3 (the cheap pre-check, and the raw ``vad`` field)
    gate_lookback_s: float = 0.3  # the model runs on a 128 ms block only when webrtcvad fired within this span
    #                               before or inside it (or the block before was speech-like); else probability 0
    block_chunks: int = 8  # 32 ms model chunks per onnxruntime call: decisions lag up to ~block_chunks x 32 ms + 30 ms
    #                       (8: ~290 ms, under the 317 ms of the voicing check it replaced; 4 costs ~15 % more CPU)


class CameraBlockedRule(BaseModel):
    dark_mean: float = 10.0  # mean luma (0-255) below this is dark; the dimmest real clip frame is 12.0
    flat_std: float = 8.0  # luma standard deviation below this is a covered/blank camera
    blur_sharpness: float = 15.0  # variance of the Laplacian below this is covered/smeared (real clips: >= 51)
    frozen_diff: float = 0.3  # mean absolute difference to the previous frame below this is frozen
    min_duration_s: float = 2.0


class BodyMovementRule(BaseModel):
    use_pose_model: bool = True  # BlazePose landmarks (~18 ms/frame); False: frame differencing only (~0.5 ms)
    pose_every_n_frames: int = 5  # while anything in the picture moves, the pose model runs on every n-th
    # analysed frame (5 fps: once a second); while nothing moves, on every ``pose_still_every_n_frames``-th
    pose_still_every_n_frames: int = 25
    motion_level: float = 0.25  # body motion score (0-1) above this is large movement
    min_duration_s: float = 2.0


class CalibrationSettings(BaseModel):
    duration_s: float = 5.0  # the first seconds with one face set the student's neutral head pose
    min_frames: int = 5


class ScoreWeights(BaseModel):
    """Integrity score = 100 - sum(weight x share of session time under the event), clipped to 0..100."""

    face_missing: float = 100.0
    multiple_faces: float = 200.0
    identity_mismatch: float = 300.0
    looking_away: float = 60.0
    speech: float = 80.0
    noise: float = 20.0
    camera_blocked: float = 150.0
    body_movement: float = 40.0
    browser: float = 100.0
    stream_lost: float = 50.0
    per_event_penalty: float = 1.0  # every event also costs this much, so a flurry of short ones counts
    violation_below: float = 60.0
    suspicious_below: float = 85.0


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
    # Lens: the turn is measured in pixels of shift, so it needs the camera's horizontal field of view
    estimate_fov: bool = True  # measure it from the scan's frames (proctor.roomscan.lens) ...
    fov_deg: float = 65.0  # ... and use this until then, or when it cannot be measured (too little texture/turn)
    fov_keyframe_deg: float = 6.0  # a keyframe for the measurement every this many degrees of turn
    fov_min_pairs: int = 8  # matched keyframe pairs needed for a measurement
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


class EngineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCTOR_", env_nested_delimiter="__")

    analysis_fps: float = 5.0  # frames analysed per second of video (live and offline)
    max_width: int = 640  # frames wider than this are scaled down before analysis
    faces: FaceSettings = Field(default_factory=FaceSettings)
    face_missing: FaceMissingRule = Field(default_factory=FaceMissingRule)
    multiple_faces: MultipleFacesRule = Field(default_factory=MultipleFacesRule)
    looking_away: LookingAwayRule = Field(default_factory=LookingAwayRule)
    identity: IdentityRule = Field(default_factory=IdentityRule)
    speech: SpeechRule = Field(default_factory=SpeechRule)
    noise: NoiseRule = Field(default_factory=NoiseRule)
    audio: AudioSettings = Field(default_factory=AudioSettings)
    camera_blocked: CameraBlockedRule = Field(default_factory=CameraBlockedRule)
    body_movement: BodyMovementRule = Field(default_factory=BodyMovementRule)
    calibration: CalibrationSettings = Field(default_factory=CalibrationSettings)
    score: ScoreWeights = Field(default_factory=ScoreWeights)
    room_scan: RoomScanSettings = Field(default_factory=RoomScanSettings)
    merge_gap_s: float = 1.0  # two events of one kind closer than this are one event

    def with_overrides(self, overrides: dict[str, Any] | None) -> "EngineSettings":
        """A copy with per-exam overrides merged in (nested dicts merge key by key)."""
        if not overrides:
            return self.model_copy(deep=True)
        merged = deep_merge(self.model_dump(), overrides, strict=True)
        return EngineSettings.model_validate(merged)


def deep_merge(base: dict[str, Any], over: dict[str, Any], *, strict: bool = False) -> dict[str, Any]:
    """``base`` with ``over`` merged in: nested dicts merge key by key, any other value of ``over`` replaces
    the one in ``base``; neither input is changed. ``strict``: a key of ``over`` that ``base`` lacks is a
    ``KeyError`` (an unknown setting) instead of being added."""
    out = dict(base)
    for key, value in over.items():
        if key not in out:
            if strict:
                raise KeyError(f"unknown setting {key!r}")
            out[key] = value
        elif isinstance(value, dict) and isinstance(out[key], dict):
            out[key] = deep_merge(out[key], value, strict=strict)
        else:
            out[key] = value
    return out
