"""The fixed vocabularies of the backend, shared by models, rules and the API."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    student = "student"
    teacher = "teacher"
    proctor = "proctor"
    college_admin = "college_admin"


class ProgrammeStatus(StrEnum):
    draft = "draft"
    approved = "approved"


class ItemFormat(StrEnum):
    synchronous = "synchronous"
    asynchronous = "asynchronous"


class ExamType(StrEnum):
    intermediate_attestation = "intermediate_attestation"
    final_attestation = "final_attestation"
    practice = "practice"

    @property
    def is_attestation(self) -> bool:
        return self is not ExamType.practice


class QuestionKind(StrEnum):
    single_choice = "single_choice"
    multiple_choice = "multiple_choice"
    short_text = "short_text"


class AttemptState(StrEnum):
    created = "created"
    ready_to_start = "ready_to_start"
    started = "started"
    submitted = "submitted"
    verified = "verified"
    rejected = "rejected"
    second_review_required = "second_review_required"
    error = "error"
    timed_out = "timed_out"


class SessionStatus(StrEnum):
    """A proctoring session's live status (the attempt has its own state machine)."""

    pending = "pending"  # created with the attempt, no media yet
    live = "live"  # media flowing, a node is analysing it
    stream_lost = "stream_lost"  # the node lost the media; a gap is open
    ended = "ended"  # the exam finished and the analysis is closed
    error = "error"


# The statuses of a session that is still going on (it may get media, events and proctor messages).
ACTIVE_SESSION_STATUSES: tuple[str, ...] = (SessionStatus.pending.value, SessionStatus.live.value,
                                            SessionStatus.stream_lost.value)


class TrackKind(StrEnum):
    video = "video"
    audio = "audio"
    screen = "screen"
    room_scan = "room_scan"


class ReviewDecision(StrEnum):
    verify = "verify"
    reject = "reject"
    second_review = "second_review"


class WebhookEvent(StrEnum):
    attempt_verified = "attempt.verified"
    attempt_rejected = "attempt.rejected"
    attempt_review_required = "attempt.review_required"


class DeliveryStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"  # gave up after the last retry


class SurveyTopic(StrEnum):
    lms = "lms"
    programme = "programme"
    content = "content"


class SurveyQuestionKind(StrEnum):
    rating = "rating"  # 1..5
    single_choice = "single_choice"
    text = "text"


class Verb(StrEnum):
    """What a footprint entry records (mapped to xAPI verbs in domain.xapi)."""

    signed_in = "signed_in"
    signed_out = "signed_out"
    joined_class = "joined_class"
    left_class = "left_class"
    opened_material = "opened_material"
    submitted_task = "submitted_task"
    graded = "graded"
    attempt_started = "attempt_started"
    attempt_submitted = "attempt_submitted"
    answered_survey = "answered_survey"


def values(enum: type[StrEnum]) -> list[str]:
    return [e.value for e in enum]
