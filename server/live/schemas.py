"""The answers of the live routes, as documented in ``/openapi.json`` (the shapes the student page and the tests
read; keys that only some answers carry are left out when absent)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from server.settings import LiveVideo


class Answer(BaseModel):
    type: str  # "answer"
    sdp: str


class LiveConfig(BaseModel):
    analysis_fps: float
    room_scan_s: float
    grace_s: float
    retention_days: int
    video: LiveVideo  # what the page asks of the camera


class LiveStats(BaseModel):
    """The session's status; while this node serves it, also its live figures."""

    model_config = ConfigDict(extra="allow")

    session_id: str
    status: str
    live: bool
    counters: dict[str, int] | None = None
    counters_at: float | None = None
    video_frames_in: int | None = None
    frame_latency_p50_s: float | None = None
    frame_latency_p95_s: float | None = None
    event_latency_p95_s: float | None = None
    events_stored: int | None = None
    kinds_raised: dict[str, int] | None = None
    connections: int | None = None
    recording: dict[str, Any] | None = None
    analysis_error: str | None = None
    stream_lost: bool | None = None
    stream: dict[str, Any] | None = None  # the last heartbeat's window: start, end, kbps, fps, width, height
    frame_latency_samples: list[float] | None = None
    event_latency_samples: list[float] | None = None


class EnrolmentStatus(BaseModel):
    enrolled: bool
    from_session: bool


class Enrolled(BaseModel):
    enrolled: bool
    enrolment_id: int
    photos: int
    source: str = "identity_step"
    reference_id: int | None = None  # the college's reference the photo was compared with
    reference_match: bool | None = None  # False: an identity_mismatch, the attempt waits for a proctor
    distance: float | None = None
