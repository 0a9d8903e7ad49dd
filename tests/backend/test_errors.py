"""Domain errors get their HTTP status in one place (server.api.errors) and keep the error body format."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from server.api import errors
from server.services.errors import (
    AccountAmbiguous, Conflict, DomainError, EnrolmentFailed, Expired, Forbidden, Invalid, NotFound,
    ProctoringInterrupted, ReferenceLocked, RuleViolation, TooManyAttempts, Unauthenticated, Unsupported,
    UpstreamFailed, WrongState,
)

CASES = [
    (NotFound.of("exam", 7), 404, "not_found", {"object": "exam", "id": 7}),
    (Unauthenticated(), 401, "unauthorized", None),
    (Forbidden(), 403, "forbidden", None),
    (Unsupported("an API key is not a person"), 400, "bad_request", None),
    (Conflict("a course with code PY exists", {"field": "code"}), 409, "conflict", {"field": "code"}),
    (WrongState("answers are saved only while the attempt is started", {"from": "created"}), 409,
     "illegal_transition", {"from": "created"}),
    (Invalid.field("at most 2 points", "body.points", "at most 2"), 422, "validation_error",
     [{"field": "body.points", "message": "at most 2"}]),
    (RuleViolation("attestation must be proctored"), 422, "rule_violation", None),
    (Expired("this selection expired or was used"), 410, "expired", None),
    (UpstreamFailed("the LMS roster could not be read"), 502, "upstream_failed", None),
    (TooManyAttempts("too many failed sign-ins", 42, {"retry_after_s": 42}), 429, "rate_limited",
     {"retry_after_s": 42}),
    (AccountAmbiguous("say which college", {"field": "college"}), 409, "college_required", {"field": "college"}),
    (ProctoringInterrupted("answers are not accepted: the proctoring session has ended",
                           {"session_status": "ended"}), 409, "proctoring_interrupted", {"session_status": "ended"}),
    (ReferenceLocked("the exam has started: a proctor can replace the reference"), 409, "reference_locked", None),
    (EnrolmentFailed("photo 2: no face", {"photo_index": 1, "reason": "no_face"}), 422, "enrolment_failed",
     {"photo_index": 1, "reason": "no_face"}),
]


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    errors.install(app)

    @app.get("/raise/{n}")
    def _raise(n: int) -> None:
        raise CASES[n][0]

    @app.get("/answer/{n}")
    def _answer(n: int) -> object:
        return errors.answer(CASES[n][0])

    return TestClient(app)


@pytest.mark.parametrize("n", range(len(CASES)))
@pytest.mark.parametrize("how", ["raise", "answer"])
def test_each_domain_error_answers_with_its_status_code_and_body(client: TestClient, n: int, how: str) -> None:
    exc, status, code, details = CASES[n]
    r = client.get(f"/{how}/{n}")
    assert r.status_code == status
    expected = {"code": code, "message": exc.message} | ({"details": details} if details is not None else {})
    assert r.json() == {"error": expected}
    assert (r.headers.get("www-authenticate") == "Bearer") == (status == 401)
    assert r.headers.get("retry-after") == ("42" if status == 429 else None)


def test_every_domain_error_class_has_a_status() -> None:
    import server.services.errors as mod

    classes = [c for c in vars(mod).values() if isinstance(c, type) and issubclass(c, DomainError)
               and c is not DomainError]
    assert {c.__name__ for c in classes} == {type(e).__name__ for e, *_ in CASES}
    assert all(errors.status_of(e) in (400, 401, 403, 404, 409, 410, 422, 429, 502) for e, *_ in CASES)
