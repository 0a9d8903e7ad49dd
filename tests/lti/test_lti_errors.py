"""The LTI side's refusals are domain errors: each keeps its code and answers with the status of the domain
error it is a kind of (chosen in server.api.errors)."""

from __future__ import annotations

import pytest

from server.api import errors
from server.lti.errors import (
    ChecksNotDone, LaunchConflict, LaunchExpired, LaunchInvalid, LaunchNotFound, LaunchRefused, LaunchUnsupported,
    LmsUnavailable, LoginRefused,
)


@pytest.mark.parametrize("exc, status, code", [
    (LaunchInvalid("forged"), 401, "lti_launch_refused"),
    (LaunchRefused("not a student"), 403, "lti_launch_refused"),
    (LaunchNotFound("no such exam"), 404, "lti_launch_refused"),
    (LaunchUnsupported("no user"), 400, "lti_launch_refused"),
    (LaunchConflict("another exam"), 409, "lti_launch_refused"),
    (LoginRefused("not this tool"), 400, "lti_login_refused"),
    (LaunchExpired("used"), 410, "lti_launch_expired"),
    (LmsUnavailable("timeout"), 502, "lms_unavailable"),
    (ChecksNotDone("room scan not done yet", {"missing": ["room scan"]}), 409, "checks_not_done"),
])
def test_each_lti_refusal_keeps_its_status_and_code(exc, status, code) -> None:
    r = errors.answer(exc)
    assert (r.status_code, exc.code) == (status, code)
    assert (r.headers.get("www-authenticate") == "Bearer") == (status == 401)
