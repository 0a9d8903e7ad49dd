"""The LTI deliverer: a thread that sends the due ``lti_service_calls`` to the platforms (AGS scores with
PyLTI1p3's AssignmentsGradesService, ACS controls through its ServiceConnector, both with an OAuth2
client-credentials token signed by the tool's key) with the webhooks' retry policy
(:class:`server.outbox_rows.RetryPolicy`): a failed call is tried again after ``base * 2**(n-1)``
seconds, until ``max_attempts``, then marked failed. Every try is appended to the row's ``log``.

Calls are claimed row by row and leased like webhook deliveries (:mod:`server.outbox_rows`), so two nodes
never send the same try. On each pass it also rotates the tool's key when
due and queues ACS flags for new incident events (:func:`server.lti.services.scan_flags`).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.db.base import utcnow
from server.db.engine import transaction
from server.db.models import Exam, LtiAttemptLink, LtiRegistration, LtiResourceLink, LtiServiceCall
from server.lti import claims as C
from server.lti.adapter import NoCacheServiceConnector, TimeoutSession, lti_registration
from server.lti.keys import KeyPolicy, rotate_if_due, signing_key
from server.lti import services
from server.outbox_rows import OutboxSender, RetryPolicy, claim_due, settle

log = logging.getLogger("server.lti")


@dataclass(frozen=True)
class _Job:
    call_id: int
    number: int
    kind: str
    url: str
    payload: dict[str, Any]
    registration: Any  # pylti1p3 Registration
    ags: dict[str, Any] | None  # AGS service data (scope, lineitem(s)) and the line item to create


def _registration_gone(db: Session, call: LtiServiceCall) -> str | None:
    reg = db.get(LtiRegistration, call.registration_id)
    return None if reg is not None and reg.is_active else "the registration was removed or disabled"


class LtiDeliverer(OutboxSender):
    def __init__(self, session_factory: sessionmaker[Session], settings: Any, *, policy: RetryPolicy | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.policy = policy or RetryPolicy(settings.webhook_max_attempts, settings.webhook_backoff_base_s,
                                            settings.webhook_backoff_max_s)
        self.key_policy = KeyPolicy.from_settings(settings)
        self.clock = clock
        self.lease_s = settings.lti_http_timeout_s * 4 + 30.0
        self.http = TimeoutSession(settings.lti_http_timeout_s)
        super().__init__("lti deliverer", settings.lti_poll_interval_s, log, services)

    # --- one call ----------------------------------------------------------------------------------------
    def _claim(self) -> _Job | None:
        now = self.clock()
        with transaction(self.session_factory, write_lock=True) as db:
            call = claim_due(db, LtiServiceCall, now, self.lease_s, lambda row: _registration_gone(db, row))
            if call is None:
                return None
            reg_row = db.get(LtiRegistration, call.registration_id)
            key = signing_key(db, self.key_policy, now)
            ags = None
            if call.kind == "ags_score":
                link = db.execute(select(LtiAttemptLink).where(LtiAttemptLink.attempt_id == call.attempt_id)
                                  ).scalar_one_or_none() if call.attempt_id else None
                rl = db.get(LtiResourceLink, link.resource_link_id) if link else None
                exam = db.get(Exam, call.payload.get("_exam_id"))
                ags = {"scope": list(rl.ags_scopes or []) if rl else [],
                       "lineitem": rl.ags_lineitem_url if rl else None,
                       "lineitems": rl.ags_lineitems_url if rl else None,
                       "label": exam.title if exam else "Proctored exam",
                       "resource_id": f"exam-{call.payload.get('_exam_id')}",
                       "resource_link_id": rl.resource_link_id if rl else None}
            return _Job(call.id, call.attempts, call.kind, call.url, dict(call.payload),
                        lti_registration(reg_row, key), ags)

    def _send(self, job: _Job) -> tuple[bool, int | None, str | None, Any]:
        connector = NoCacheServiceConnector(job.registration, self.http)
        try:
            if job.kind == "ags_score":
                return self._send_score(job, connector)
            body = {k: v for k, v in job.payload.items() if not k.startswith("_")}
            resp = connector.make_service_request([C.SCOPE_ACS], job.url, is_post=True,
                                                  data=json.dumps(body), content_type=C.ACS_MEDIA_TYPE,
                                                  accept=C.ACS_RESULT_MEDIA_TYPE)
            return True, 200, None, resp["body"]
        except LtiServiceException as exc:
            r = exc.response if hasattr(exc, "response") else None
            code = getattr(r, "status_code", None)
            text = getattr(r, "text", "")[:300] if r is not None else ""
            return False, code, f"{exc}: HTTP {code} {text}".strip(), None
        except (LtiException, OSError, ValueError) as exc:
            return False, None, f"{type(exc).__name__}: {exc}"[:500], None
        except Exception as exc:  # requests' errors and anything a platform's odd answer raises
            return False, None, f"{type(exc).__name__}: {exc}"[:500], None

    def _send_score(self, job: _Job, connector: NoCacheServiceConnector) -> tuple[bool, int | None, str | None, Any]:
        p = job.payload
        ags = job.ags or {}
        data = {"scope": ags.get("scope") or [], "lineitem": ags.get("lineitem"), "lineitems": ags.get("lineitems")}
        service = AssignmentsGradesService(connector, {k: v for k, v in data.items() if v})  # type: ignore[arg-type]
        grade = Grade().set_user_id(p["userId"]).set_timestamp(p["timestamp"])
        grade.set_activity_progress(p["activityProgress"]).set_grading_progress(p["gradingProgress"])
        if "scoreGiven" in p:
            grade.set_score_given(p["scoreGiven"]).set_score_maximum(p["scoreMaximum"])
        if p.get("comment"):
            grade.set_comment(p["comment"])
        lineitem = None
        if not ags.get("lineitem"):
            lineitem = LineItem().set_label(ags.get("label") or "Proctored exam").set_resource_id(
                ags.get("resource_id")).set_score_maximum(float(p.get("scoreMaximum") or 100.0))
            if ags.get("resource_link_id"):
                lineitem.set_resource_link_id(ags["resource_link_id"])
            lineitem = service.find_or_create_lineitem(lineitem, find_by="resource_id")
        resp = service.put_grade(grade, lineitem)
        return True, 200, None, resp["body"]

    def _finish(self, job: _Job, ok: bool, status: int | None, error: str | None, body: Any, ms: float) -> None:
        now = self.clock()
        with transaction(self.session_factory, write_lock=True) as db:
            call = db.get(LtiServiceCall, job.call_id)
            call.log = list(call.log or []) + [{"number": job.number, "at": now.isoformat(), "ok": ok,
                                                "status_code": status, "error": error, "ms": round(ms, 1)}]
            settle(call, job.number, ok, error, now, self.policy)
            if ok:
                call.response = body if isinstance(body, (dict, list, str, int, float)) else None
        log.info("lti service call", extra={"call_id": job.call_id, "kind": job.kind, "try": job.number, "ok": ok,
                                            "status_code": status, "error": error})

    # --- passes -----------------------------------------------------------------------------------------
    def before_pass(self) -> None:
        """Rotate the key when due, queue ACS flags for new events, drop expired launch data.

        Run also at start: the first pass makes the tool's signing key on a new database, before the server
        takes requests, so that write never lands between a request's read and its write (SQLite refuses that
        request's write at once: its snapshot is stale)."""
        from sqlalchemy import delete

        from server.db.models import LtiLaunchData

        with transaction(self.session_factory, write_lock=True) as db:
            changes = rotate_if_due(db, self.key_policy, self.clock())
            if changes:
                log.info("lti key rotation", extra={"changes": changes})
            services.scan_flags(db, self.settings.lti_flag_min_severity, self.clock())
            db.execute(delete(LtiLaunchData).where(LtiLaunchData.expires_at <= self.clock()))

    def _try(self, job: _Job) -> None:
        t0 = time.perf_counter()
        ok, status, error, body = self._send(job)
        self._finish(job, ok, status, error, body, (time.perf_counter() - t0) * 1000)

    def close(self) -> None:
        self.http.close()
