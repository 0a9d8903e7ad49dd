"""The LTI side's refusals, as domain errors (``server.services.errors``): each keeps the code the LMS-facing
pages and their tests know, and answers with the status of the domain error it is a kind of (chosen in
``server.api.errors``).

* ``lti_launch_refused``: :class:`LaunchInvalid` 401 (forged, replayed, expired or unknown launch),
  :class:`LaunchRefused` 403 (the launch is valid but this person may not do this), :class:`LaunchNotFound` 404,
  :class:`LaunchUnsupported` 400 (a message or claim the tool cannot use), :class:`LaunchConflict` 409.
* :class:`LoginRefused` 400 ``lti_login_refused``: the OIDC login could not start.
* :class:`LaunchExpired` 410 ``lti_launch_expired``: a single-use launch ticket expired or was used.
* :class:`LmsUnavailable` 502 ``lms_unavailable``: the LMS's service failed (the roster could not be read).
* :class:`ChecksNotDone` 409 ``checks_not_done``: the identity check or the room scan is not done yet.
"""

from __future__ import annotations

from server.services.errors import (
    Conflict, DomainError, Expired, Forbidden, NotFound, Unauthenticated, Unsupported, UpstreamFailed, WrongState,
)


class LaunchError(DomainError):
    """A launch refused (the code shared by every kind below)."""

    code = "lti_launch_refused"


class LaunchInvalid(LaunchError, Unauthenticated):
    """Forged, replayed, expired or unknown: the launch proves nothing (401)."""


class LaunchRefused(LaunchError, Forbidden):
    """A valid launch, but this person may not do this (403)."""


class LaunchNotFound(LaunchError, NotFound):
    """The launch names something this tool does not have (404)."""


class LaunchUnsupported(LaunchError, Unsupported):
    """A message or claim the tool cannot use (400)."""


class LaunchConflict(LaunchError, Conflict):
    """The launch clashes with what its LMS link already is (409)."""


class LoginRefused(Unsupported):
    code = "lti_login_refused"


class LaunchExpired(Expired):
    code = "lti_launch_expired"


class LmsUnavailable(UpstreamFailed):
    code = "lms_unavailable"


class ChecksNotDone(WrongState):
    code = "checks_not_done"
