"""The answers of the review API (``/api/review/...``) as documented in ``/openapi.json``. The session view is
large and grows with the chain's record types, so its models name the parts the pages rely on and let the rest
through unchanged."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Person(BaseModel):
    id: int
    full_name: str | None
    external_id: str | None


class SessionMeta(_Open):
    """One session as the queue lists it; ``integrity_score`` / ``score_recommendation`` are set once it was
    scored (an imported offline analysis, or a live session that ended)."""

    id: str
    status: str
    live: bool
    created_at: str
    started_at: str | None
    ended_at: str | None
    integrity_score: float | None
    score_recommendation: str | None
    score_provisional: bool = False  # a running session's latest provisional score (the final one at its end)
    stream_gaps: list[dict[str, Any]]
    event_count: int
    attempt_id: int
    attempt_state: str
    student: Person
    exam: dict[str, Any]
    course: dict[str, Any]
    college: dict[str, Any]


class QueueRow(SessionMeta):
    counts: dict[str, int]


class Queue(BaseModel):
    sessions: list[QueueRow]
    filters: dict[str, list[Any]]


class Me(BaseModel):
    id: int | None
    role: str | None
    college_id: int | None
    full_name: str | None


class SessionView(SessionMeta):
    """Everything the session page shows (events with their labels, checks, verifications, reviews)."""

    duration_s: float
    events: list[dict[str, Any]]
    counts: dict[str, int]
    context_kinds: list[str] = []  # event kinds that are context (the stream's quality), not misconduct
    browser_events: list[dict[str, Any]]
    room_scan: dict[str, Any]
    identity: dict[str, Any]
    proctor_actions: list[dict[str, Any]]  # messages, ends, unproctored_allowed
    page_requests_refused: list[dict[str, Any]] = []  # what the page asked and the server refused
    score: dict[str, Any] | None  # {score, recommendation, duration_s, breakdown, provisional}
    verification: dict[str, Any]
    chain_head: str | None
    entries: int
    attempt: dict[str, Any]
    comments: list[dict[str, Any]]
    reviews: list[dict[str, Any]]


class Signals(_Open):
    source: str
    verified: bool | None
    frames: list[dict[str, Any]]
    audio: list[dict[str, Any]]


class MessageSent(BaseModel):
    delivered: bool
    seq: int


class RoomScanAsked(BaseModel):
    delivered: bool


class AttemptEnded(BaseModel):
    attempt_state: str
    connected: bool


class ReferenceReplaced(BaseModel):
    enrolment_id: int
    replaced_enrolment_id: int | None
    photos: list[str]  # sha256
    seq: int  # the chain entry that records it
    live: bool  # the session's live analysis uses it from now on
