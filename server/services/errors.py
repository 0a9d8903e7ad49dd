"""What can go wrong in an operation, said in the application's own words: each error carries a stable
machine-readable ``code``, a message for people and optional ``details``. The services and the routes raise
these; which HTTP status each one answers with is decided in one place, ``server.api.errors``.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An operation refused: ``code`` names the kind of refusal (stable, for clients), ``message`` says why."""

    code = "error"

    def __init__(self, message: str, details: Any = None):
        super().__init__(message)
        self.message, self.details = message, details


class NotFound(DomainError):
    """The object does not exist, or the caller may not know that it does (another college's ids)."""

    code = "not_found"

    @classmethod
    def of(cls, what: str, ident: Any) -> NotFound:
        return cls(f"{what} {ident} was not found", {"object": what, "id": ident})


class Unauthenticated(DomainError):
    """No valid credentials: nobody is signed in, or the token or API key is wrong, expired or revoked."""

    code = "unauthorized"

    def __init__(self, message: str = "sign in or send an API key", details: Any = None):
        super().__init__(message, details)


class Forbidden(DomainError):
    """The caller is known but their role does not allow this."""

    code = "forbidden"

    def __init__(self, message: str = "your role does not allow this", details: Any = None):
        super().__init__(message, details)


class Unsupported(DomainError):
    """The request makes no sense for this caller (e.g. signing out with an API key)."""

    code = "bad_request"


class Conflict(DomainError):
    """The request clashes with the data as it stands (a duplicate, a closed window, no attempts left)."""

    code = "conflict"


class WrongState(Conflict):
    """The object's state does not allow the action now (e.g. saving an answer to an attempt not started)."""

    code = "illegal_transition"


class ProctoringInterrupted(Conflict):
    """A proctored attempt has no live proctoring now (the stream was lost past its grace period, or the session
    ended): its answers are refused until a proctor allows the attempt to go on without it."""

    code = "proctoring_interrupted"


class Invalid(DomainError):
    """The input is well formed but its values are not acceptable."""

    code = "validation_error"

    @classmethod
    def field(cls, message: str, field: str, field_message: str | None = None) -> Invalid:
        """The error named after one input field (``body.points``); ``field_message`` defaults to ``message``."""
        return cls(message, [{"field": field, "message": field_message or message}])


class RuleViolation(DomainError):
    """The input breaks a rule of the regulations (e.g. an attestation exam that is not proctored)."""

    code = "rule_violation"


class Expired(DomainError):
    """What the request refers to existed but is gone: expired or used up (e.g. a single-use launch ticket)."""

    code = "expired"


class UpstreamFailed(DomainError):
    """Another system this operation needs (an LMS, a platform's service) failed or could not be reached."""

    code = "upstream_failed"


class TooManyAttempts(DomainError):
    """Too many failed tries (sign-in throttling, an account lockout): ``retry_after_s`` says when to try again."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int, details: Any = None):
        super().__init__(message, details)
        self.retry_after_s = retry_after_s


class AccountAmbiguous(Conflict):
    """The sign-in matches accounts of several colleges (e-mail addresses are unique per college): say which."""

    code = "college_required"


class ReferenceLocked(Conflict):
    """The student's identity reference cannot change now: the exam has started (a proctor can replace it)."""

    code = "reference_locked"


class EnrolmentFailed(Invalid):
    """A reference photo the engine cannot enrol; ``details`` name the photo (``photo_index``) and the ``reason``
    (no_face, multiple_faces, face_too_small, too_blurred, too_dark, too_many_pixels, unreadable, ...)."""

    code = "enrolment_failed"
