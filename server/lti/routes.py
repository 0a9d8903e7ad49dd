"""The LTI 1.3 endpoints the LMS and the student's browser talk to. All are under ``/lti/``: the login and the
launch receive cross-site form posts from the LMS by design (an OIDC ``form_post``), so a CSRF Origin check
on cookie-authenticated POSTs must exempt ``/lti/login`` and ``/lti/launch``; the others are posted from pages
of ours (same origin) and carry a single-use launch id instead of relying on cookies (an LMS often frames the
tool, where browsers withhold our cookies).

* ``GET|POST /lti/login`` — OIDC third-party initiated login: redirect to the platform's authorisation URL.
* ``POST /lti/launch`` — the platform's signed id_token: resource link, Deep Linking, LtiStartProctoring,
  LtiEndAssessment.
* ``GET /lti/jwks`` — the tool's public keys.
* ``POST /lti/deep-linking/{launch_id}`` — the teacher's choice (an exam, or a new one) back to the LMS.
* ``GET /lti/proctoring/{launch_id}/status`` and ``POST /lti/proctoring/{launch_id}/start-assessment`` —
  the proctoring pre-checks and the signed LtiStartAssessment.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.lineitem import LineItem
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.api.deps import DB, Settings
from server.db.base import utcnow
from server.db.models import Attempt, Exam, LtiAttemptLink, LtiContext, LtiRegistration, LtiResourceLink, User
from server.domain.enums import AttemptState, ExamType, Role
from server.lti import claims as C
from server.lti import launch as L
from server.lti.adapter import (
    DbLaunchStorage, DbToolConf, ToolCookies, ToolMessageLaunch, ToolOIDCLogin, ToolRequest, ToolSessionService,
    TimeoutSession,
)
from server.lti.errors import (
    ChecksNotDone, LaunchExpired, LaunchInvalid, LaunchNotFound, LaunchRefused, LaunchUnsupported, LoginRefused,
)
from server.lti.keys import KeyPolicy, jwks, signing_key
from server.services import access
from server.services import attempts as attempt_ops
from server.services.errors import Forbidden, Invalid, WrongState
from server.lti.proctoring import AUTOPOST_JS, auto_post_form, start_assessment_jwt
from server.settings import ServerSettings

log = logging.getLogger("server.lti")

router = APIRouter(prefix="/lti", tags=["LTI 1.3 (LMS)"])
STUDENT_PAGE = "/student/"


class Jwk(BaseModel):
    kty: str
    kid: str
    alg: str = "RS256"
    use: str = "sig"
    n: str
    e: str


class JwksOut(BaseModel):
    keys: list[Jwk]


class AttemptStatusOut(BaseModel):
    attempt_id: int
    state: str
    identity_verified: bool
    room_scanned: bool
    ready: bool  # both checks passed: the LMS assessment can start
    assessment_started: bool
    assessment_ended: bool
    proctoring_session_id: str | None


def _urls(settings: ServerSettings) -> dict[str, str]:
    base = settings.resolved_public_url()
    return {"login": f"{base}/lti/login", "launch": f"{base}/lti/launch", "jwks": f"{base}/lti/jwks",
            "deep_linking": f"{base}/lti/launch"}


def _secure(settings: ServerSettings) -> bool:
    return settings.resolved_public_url().startswith("https://")


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
                        "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
                        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>", status_code=status)


def _go(url: str, title: str, text: str) -> HTMLResponse:
    """A page of ours that moves on to ``url``: the navigation then starts from our own site, so the sign-in
    cookie (SameSite) set with this page is sent with it."""
    u = escape(url)
    return HTMLResponse(f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
                        f"<meta http-equiv='refresh' content='0;url={u}'></head><body><p>{escape(text)} "
                        f"<a id='next' href='{u}'>Continue</a></p></body></html>")


def _sign_in(resp: Response, db: Session, user: User, settings: ServerSettings, request: Request) -> None:
    ua = request.headers.get("user-agent")
    token, ttl = L.sign_in(db, user, settings, request.client.host if request.client else None, ua[:255] if ua else None)
    resp.set_cookie(settings.cookie_name, token, max_age=ttl, httponly=True, samesite="strict",
                    secure=settings.cookie_secure or _secure(settings), path="/")


# --- keys ----------------------------------------------------------------------------------------------------
@router.get("/jwks", response_model=JwksOut, summary="The tool's public keys (JWKS), with the next and the retired one")
def tool_jwks(request: Request, settings: Settings) -> dict[str, Any]:
    """Read without the write lock: a platform fetches this while one of our requests holding SQLite's write
    lock waits for that platform (a launch calling NRPS, whose token endpoint checks our signature here)."""
    from server.db.engine import transaction

    factory = request.app.state.session_factory
    with transaction(factory) as db:
        keys = jwks(db)
    if not keys["keys"]:  # first use: make the first key
        with transaction(factory, write_lock=True) as db:
            signing_key(db, KeyPolicy.from_settings(settings))
            keys = jwks(db)
    return keys


@router.get("/autopost.js", response_class=PlainTextResponse, include_in_schema=False)
def autopost_js() -> PlainTextResponse:
    return PlainTextResponse(AUTOPOST_JS, media_type="text/javascript")


# --- OIDC login initiation -----------------------------------------------------------------------------------
def _login(request: Request, db: Session, settings: ServerSettings, params: dict[str, Any]) -> Response:
    target = params.get("target_link_uri") or ""
    if target and not (target + "/").startswith(settings.resolved_public_url() + "/"):
        raise LoginRefused("target_link_uri is not this tool")
    secure = _secure(settings)
    key = signing_key(db, KeyPolicy.from_settings(settings))
    storage = DbLaunchStorage(db, settings.lti_state_ttl_s)
    cookies = ToolCookies(request.cookies, secure)
    login = ToolOIDCLogin(ToolRequest(params, secure), DbToolConf(db, key), session_service=ToolSessionService(storage),
                          cookie_service=cookies)
    login.set_launch_data_lifetime(settings.lti_state_ttl_s)
    login.pass_params_to_launch({"issued_at": utcnow().isoformat()})  # the state is then also kept server-side
    try:
        return login.redirect(_urls(settings)["launch"])
    except (LtiException, OIDCException, AssertionError) as exc:
        raise LoginRefused(f"the LTI login could not start: {exc or type(exc).__name__}")


_LOGIN_DOC = {302: {"description": "Redirect to the platform's OIDC authorisation endpoint"}}


@router.get("/login", status_code=302, response_class=RedirectResponse, responses=_LOGIN_DOC,
            summary="OIDC third-party initiated login (the LMS starts a launch here)")
def login_get(request: Request, db: DB, settings: Settings) -> Response:
    return _login(request, db, settings, dict(request.query_params))


@router.post("/login", status_code=302, response_class=RedirectResponse, responses=_LOGIN_DOC,
             summary="OIDC third-party initiated login, form post (cross-site from the LMS)")
def login_post(request: Request, db: DB, settings: Settings, iss: str = Form(...), login_hint: str = Form(...),
               target_link_uri: str = Form(""), lti_message_hint: str = Form(""), client_id: str = Form(""),
               lti_deployment_id: str = Form("")) -> Response:
    params = {"iss": iss, "login_hint": login_hint, "target_link_uri": target_link_uri,
              "lti_message_hint": lti_message_hint, "client_id": client_id, "lti_deployment_id": lti_deployment_id}
    return _login(request, db, settings, params)


# --- the launch ----------------------------------------------------------------------------------------------
def validated_launch(request: Request, db: Session, settings: ServerSettings, id_token: str,
                     state: str) -> tuple[ToolMessageLaunch, DbLaunchStorage]:
    secure = _secure(settings)
    key = signing_key(db, KeyPolicy.from_settings(settings))
    storage = DbLaunchStorage(db, settings.lti_launch_ttl_s)
    ml = ToolMessageLaunch(ToolRequest({"id_token": id_token, "state": state}, secure), DbToolConf(db, key),
                           session_service=ToolSessionService(storage),
                           cookie_service=ToolCookies(request.cookies, secure),
                           requests_session=TimeoutSession(settings.lti_http_timeout_s))
    ml.set_public_key_caching(storage, cache_lifetime=300)
    ml.set_launch_data_lifetime(settings.lti_launch_ttl_s)
    try:
        ml.validate()
    except (LtiException, OIDCException, AssertionError) as exc:
        log.info("lti launch refused", extra={"reason": str(exc)})
        raise LaunchInvalid(f"the LTI launch was refused: {exc or type(exc).__name__}")
    return ml, storage


@router.post("/launch", response_class=HTMLResponse,
             responses={200: {"content": {"text/html": {}}, "description": "The page for the launch"},
                        401: {"description": "Forged, replayed, expired or unknown launch"}},
             summary="LTI launch (id_token form post from the LMS): exam link, Deep Linking, proctoring start/end")
def launch(request: Request, db: DB, settings: Settings, id_token: str = Form(...),
           state: str = Form(...)) -> Response:
    ml, storage = validated_launch(request, db, settings, id_token, state)
    body = ml.body()
    reg = db.get(LtiRegistration, ml.registration_id)
    deployment = str(body[C.DEPLOYMENT_ID])
    kind = body.get(C.MESSAGE_TYPE)
    person = L.who(db, reg, body)
    if kind == C.DEEP_LINKING_REQUEST:
        return _deep_linking_page(request, db, settings, reg, deployment, body, person, ml.get_launch_id(), storage)
    if kind == C.RESOURCE_LINK_REQUEST:
        return _resource_launch(request, db, settings, reg, deployment, body, person)
    if kind == C.START_PROCTORING:
        return _start_proctoring(request, db, settings, reg, deployment, body, person, ml.get_launch_id(), storage)
    if kind == C.END_ASSESSMENT:
        return _end_assessment(db, reg, deployment, body, person)
    raise LaunchUnsupported(f"this tool does not handle {kind} messages")


def _resource_launch(request: Request, db: Session, settings: ServerSettings, reg: LtiRegistration, deployment: str,
                     body: dict[str, Any], person: L.Who) -> Response:
    custom = body.get(C.CUSTOM) or {}
    exam = L.college_exam(db, reg, custom["exam_id"]) if custom.get("exam_id") else None
    ctx = L.context(db, reg, deployment, body, course_hint=exam.course_id if exam else None)
    rl = L.resource_link(db, reg, deployment, body, ctx, exam)
    if rl is None:
        raise LaunchNotFound("this LMS link does not open an exam yet: add it to the course with "
                             "'External tool' content selection (Deep Linking)")
    exam = exam or db.get(Exam, rl.exam_id)
    L.enrol(db, exam.course_id, person.user, person.staff)
    if person.staff:
        counts = L.attempt_counts(db, exam)
        rows = "".join(f"<li>{escape(k)}: {v}</li>" for k, v in sorted(counts.items())) or "<li>no attempts yet</li>"
        resp: Response = _page(exam.title, f"<p>Proctored exam, {escape(exam.type)}; opens "
                                           f"{exam.opens_at:%Y-%m-%d %H:%M} UTC, closes {exam.closes_at:%Y-%m-%d %H:%M} "
                                           f"UTC.</p><h2>Attempts</h2><ul>{rows}</ul>"
                                           "<p>Grades reach the LMS gradebook when the proctoring review verifies an "
                                           "attempt.</p>")
    else:
        attempt = L.learner_attempt(db, exam, person.user, rl, str(body["sub"]))
        resp = _go(f"{STUDENT_PAGE}?exam={exam.id}&attempt={attempt.id}", exam.title,
                   "Opening your proctored exam.")
    _sign_in(resp, db, person.user, settings, request)
    return resp


# --- Deep Linking --------------------------------------------------------------------------------------------
def _deep_linking_page(request: Request, db: Session, settings: ServerSettings, reg: LtiRegistration,
                       deployment: str, body: dict[str, Any], person: L.Who, launch_id: str,
                       storage: DbLaunchStorage) -> Response:
    if not person.staff:
        raise LaunchRefused("only the course's teachers add exams to it")
    ctx = L.context(db, reg, deployment, body, create=False)  # an unknown LMS course is mapped on the choice
    course_ids: list[int] = []
    if ctx is not None:
        L.enrol(db, ctx.course_id, person.user, True)
        course_ids.append(ctx.course_id)
        _try_roster(db, settings, ctx)
    course_ids += [c for c in L.taught_course_ids(db, person.user) if c not in course_ids]
    storage.set_value(f"dl-{launch_id}", {"user_id": person.user.id, "registration_id": reg.id,
                                          "deployment_id": deployment})
    exams = L.proctored_exams(db, course_ids)
    action = f"/lti/deep-linking/{escape(launch_id)}"
    options = "".join(f'<li><label><input type="radio" name="exam_id" value="{e.id}"> {escape(e.title)} '
                      f'({escape(e.type)}, {e.opens_at:%Y-%m-%d})</label></li>' for e in exams)
    create = ("<fieldset><legend>Or create a new proctored exam in this course</legend>"
              "<label>Title <input name='title' maxlength='255'></label> "
              "<label>Type <select name='type'><option value='intermediate_attestation'>intermediate attestation"
              "</option><option value='final_attestation'>final attestation</option></select></label> "
              "<label>Opens (UTC) <input name='opens_at' type='datetime-local'></label> "
              "<label>Closes (UTC) <input name='closes_at' type='datetime-local'></label> "
              "<label>Time limit (min) <input name='time_limit_min' type='number' min='1' value='60'></label>"
              "</fieldset>")
    return _page("Add a proctored exam to the course",
                 f"<form method='post' action='{action}'><ul>{options or '<li>No proctored exam yet.</li>'}</ul>"
                 f"{create}<button type='submit'>Add to the course</button></form>")


def _try_roster(db: Session, settings: ServerSettings, ctx: LtiContext) -> None:
    """Names and Role Provisioning on a teacher's launch, at most hourly; a failure does not stop the launch."""
    from server.lti import roster

    if not ctx.memberships_url or (ctx.synced_at and utcnow() - ctx.synced_at < timedelta(hours=1)):
        return
    try:
        with db.begin_nested():
            roster.sync(db, settings, ctx)
    except Exception as exc:  # noqa: BLE001 - the platform's roster is a convenience here
        log.warning("lti roster sync failed", extra={"context_id": ctx.id, "error": str(exc)[:300]})


def _parse_dt(value: str | None, default: datetime) -> datetime:
    """A datetime-local field of the page (UTC when it names no zone)."""
    if not value:
        return default
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"not a date and time: {value!r}")
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


@router.post("/deep-linking/{launch_id}", response_class=HTMLResponse,
             responses={200: {"content": {"text/html": {}},
                              "description": "A page that posts the signed LtiDeepLinkingResponse to the LMS"}},
             summary="The teacher's choice of exam, sent back to the LMS as a Deep Linking response")
def deep_linking_choice(launch_id: str, request: Request, db: DB, settings: Settings,
                        exam_id: int | None = Form(None), title: str | None = Form(None),
                        type: str = Form(ExamType.intermediate_attestation.value),
                        opens_at: str | None = Form(None), closes_at: str | None = Form(None),
                        time_limit_min: int = Form(60)) -> Response:
    storage = DbLaunchStorage(db, settings.lti_launch_ttl_s)
    ticket = storage.consume(f"dl-{launch_id}")
    if ticket is None:
        raise LaunchExpired("this selection expired or was used: open it again from the LMS")
    reg = db.get(LtiRegistration, ticket["registration_id"])
    ml = ToolMessageLaunch.from_cache(
        launch_id, ToolRequest({}, _secure(settings)), DbToolConf(db, signing_key(db, KeyPolicy.from_settings(settings))),
        session_service=ToolSessionService(storage), cookie_service=ToolCookies({}, _secure(settings)))
    body = ml.body()
    teacher = db.get(User, ticket["user_id"])
    if exam_id is not None:
        exam = L.college_exam(db, reg, exam_id)
        if not access.teaches(db, teacher.id, exam.course_id) and teacher.role != Role.college_admin.value:
            raise Forbidden("you do not teach the course of this exam")
        ctx = L.context(db, reg, ticket["deployment_id"], body, course_hint=exam.course_id)
    elif title:
        ctx = L.context(db, reg, ticket["deployment_id"], body)  # the LMS course, or a new course for it
        if ctx is None:
            raise Invalid("the LMS sent no course to create the exam in")
        L.enrol(db, ctx.course_id, teacher, True)
        now = utcnow()
        opens, closes = _parse_dt(opens_at, now), _parse_dt(closes_at, now + timedelta(days=7))
        exam = L.new_exam(db, ctx, title=title, exam_type=type, opens_at=opens, closes_at=closes,
                          time_limit_min=time_limit_min)
    else:
        raise Invalid("choose an exam, or give a title for a new one")
    if ctx is not None:
        _try_roster(db, settings, ctx)
    max_score = sum(q.points for q in exam.questions) or 100.0
    resource = (DeepLinkResource().set_url(_urls(settings)["launch"]).set_title(exam.title)
                .set_custom_params({"exam_id": str(exam.id)})
                .set_lineitem(LineItem().set_score_maximum(max_score).set_label(exam.title)
                              .set_resource_id(f"exam-{exam.id}").set_tag("proctored-exam")))
    deep_link = ml.get_deep_link()
    jwt_val = deep_link.get_response_jwt([resource])
    return_url = body[C.DL_SETTINGS]["deep_link_return_url"]
    return HTMLResponse(auto_post_form(return_url, {"JWT": jwt_val}, "Adding the exam to the course"))


# --- LTI Proctoring ------------------------------------------------------------------------------------------
def _start_proctoring(request: Request, db: Session, settings: ServerSettings, reg: LtiRegistration,
                      deployment: str, body: dict[str, Any], person: L.Who, launch_id: str,
                      storage: DbLaunchStorage) -> Response:
    ctx = L.context(db, reg, deployment, body)
    rl = L.resource_link(db, reg, deployment, body, ctx, None)
    if rl is None:
        exam = L.lms_assessment_exam(db, ctx, body)
        rl = L.resource_link(db, reg, deployment, body, ctx, exam)
    exam = db.get(Exam, rl.exam_id)
    L.enrol(db, exam.course_id, person.user, person.staff)
    attempt, link = L.proctoring_attempt(db, exam, person.user, rl, str(body["sub"]), body)
    storage.set_value(f"proctoring-{launch_id}", {"attempt_id": attempt.id, "user_id": person.user.id},
                      settings.token_ttl_hours * 3600)
    page = (f"<p>Before the LMS opens <strong>{escape(exam.title)}</strong>, this tool checks that you are the "
            "student enrolled (identity check) and looks at the room (room scan).</p>"
            f"<p><a href='{STUDENT_PAGE}?exam={exam.id}&attempt={attempt.id}&lti=proctoring' target='_blank'>"
            "Open the identity check and room scan</a></p>"
            f"<form method='post' action='/lti/proctoring/{escape(launch_id)}/start-assessment'>"
            "<button type='submit'>Both checks are done: start the assessment</button></form>")
    resp = _page("Proctoring checks", page)
    _sign_in(resp, db, person.user, settings, request)
    return resp


def _proctoring_ticket(db: Session, settings: ServerSettings, launch_id: str) -> tuple[Attempt, LtiAttemptLink]:
    ticket = DbLaunchStorage(db, settings.lti_launch_ttl_s).get_value(f"proctoring-{launch_id}")
    if ticket is None:
        raise LaunchExpired("this proctoring launch expired: start again from the LMS")
    attempt = db.get(Attempt, ticket["attempt_id"])
    link = db.execute(select(LtiAttemptLink).where(LtiAttemptLink.attempt_id == attempt.id)).scalar_one()
    return attempt, link


def _status(db: Session, attempt: Attempt, link: LtiAttemptLink) -> AttemptStatusOut:
    sess = attempt_ops.session_of(db, attempt)
    return AttemptStatusOut(
        attempt_id=attempt.id, state=attempt.state, identity_verified=attempt.identity_verified_at is not None,
        room_scanned=attempt.room_scanned_at is not None,
        ready=attempt.state in (AttemptState.ready_to_start.value, AttemptState.started.value),
        assessment_started=link.assessment_started_at is not None,
        assessment_ended=link.assessment_ended_at is not None, proctoring_session_id=sess.id if sess else None)


@router.get("/proctoring/{launch_id}/status", response_model=AttemptStatusOut,
            summary="Where the proctoring pre-checks of an LTI proctoring launch stand")
def proctoring_status(launch_id: str, db: DB, settings: Settings) -> AttemptStatusOut:
    attempt, link = _proctoring_ticket(db, settings, launch_id)
    return _status(db, attempt, link)


@router.post("/proctoring/{launch_id}/start-assessment", response_class=HTMLResponse,
             responses={200: {"content": {"text/html": {}},
                              "description": "A page that posts the signed LtiStartAssessment to the platform"},
                        409: {"description": "The identity check or the room scan is not done"}},
             summary="After the identity check and room scan: the signed LtiStartAssessment to the platform")
def start_assessment(launch_id: str, db: DB, settings: Settings) -> Response:
    attempt, link = _proctoring_ticket(db, settings, launch_id)
    if attempt.state == AttemptState.created.value:
        missing = [n for n, done in (("identity check", attempt.identity_verified_at),
                                     ("room scan", attempt.room_scanned_at)) if not done]
        raise ChecksNotDone(f"{' and '.join(missing)} not done yet", {"missing": missing})
    if attempt.state == AttemptState.ready_to_start.value:
        attempt_ops.transition(db, attempt, AttemptState.started, actor=f"user:{attempt.student_id}",
                               actor_id=attempt.student_id, reason="LtiStartAssessment sent to the LMS")
    elif attempt.state != AttemptState.started.value:
        raise WrongState(f"the attempt is {attempt.state}", {"from": attempt.state})
    link.assessment_started_at = link.assessment_started_at or utcnow()
    rl = db.get(LtiResourceLink, link.resource_link_id)
    reg = db.get(LtiRegistration, rl.registration_id)
    key = signing_key(db, KeyPolicy.from_settings(settings))
    student = db.get(User, attempt.student_id)
    token = start_assessment_jwt(key, reg, rl, link, verified_user={"name": student.full_name})
    return HTMLResponse(auto_post_form(link.start_assessment_url, {"JWT": token}, "Starting the assessment"))


def _end_assessment(db: Session, reg: LtiRegistration, deployment: str, body: dict[str, Any],
                    person: L.Who) -> Response:
    rl = db.execute(select(LtiResourceLink).where(
        LtiResourceLink.registration_id == reg.id, LtiResourceLink.deployment_id == deployment,
        LtiResourceLink.resource_link_id == str((body.get(C.RESOURCE_LINK) or {}).get("id")))).scalar_one_or_none()
    if rl is None:
        raise LaunchNotFound("no proctored assessment matches this end of assessment")
    attempt = L.end_assessment(db, rl, person.user, str(body["sub"]), body)
    back = (body.get(C.LAUNCH_PRESENTATION) or {}).get("return_url")
    more = f"<p><a href='{escape(back)}'>Back to the course</a></p>" if back else ""
    return _page("Assessment finished", f"<p>Your attempt ({escape(attempt.state)}) is handed in for the proctoring "
                                        f"review. The LMS shows your grade.</p>{more}")


__all__ = ["router", "validated_launch"]
