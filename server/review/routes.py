"""The proctor's review workspace: the pages (``/review/``, ``/review/session?id=``) and their API
(``/api/review/...``). Decisions and comments go through the backend's endpoints (``/api/proctor/...``).

Access: proctors and college admins of the session's college. A student (or a teacher) gets 403 on the pages
and the API; a session of another college answers 404 (its id reveals nothing).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import APIRouter, FastAPI, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.api.deps import DB, Proctor, get_principal
from server.api.errors import ApiError
from server.services import access
from server.services import reference_photos as refs
from server.services import attempts as attempt_ops
from server.auth.principal import Principal
from server.db.engine import transaction
from server.db.models import Attempt, College, Course, Exam, ProctoringSession, SessionEvent, User
from server.db.queries import exams_of_college, sessions_of_college
from server.domain.enums import AttemptState, Role
from server.domain.attempts import REVIEWABLE
from server.pages import page_or_refusal
from server.review import views
from server.storage.events import append_in
from server.review.schemas import (
    AttemptEnded, Me, MessageSent, Queue, ReferenceReplaced, RoomScanAsked, SessionView, Signals,
)
from server.review.media import Piece, concat_webm, frame_at

WEB = Path(__file__).resolve().parents[2] / "web_client" / "review"
STAFF = (Role.proctor, Role.college_admin)



# media types of the answers that are not JSON, so /openapi.json documents them as what they are
class JpegResponse(Response):
    media_type = "image/jpeg"


class WebmResponse(Response):
    media_type = "video/webm"


class EventStreamResponse(StreamingResponse):
    media_type = "text/event-stream"

router = APIRouter(prefix="/api/review", tags=["review"])
pages = APIRouter(tags=["review"])


def _stores(request: Request) -> Any:
    return request.app.state.stores


# ---- pages ---------------------------------------------------------------------------------------------
REFUSED = ("<!doctype html><meta charset=utf-8><title>403</title><h1>403</h1>"
           "<p>Only proctors may open the review workspace. / Тек прокторлар кіре алады. / "
           "Доступ только для прокторов.</p>")


def _page(request: Request, name: str) -> Response:
    return page_or_refusal(request, WEB / name, STAFF, REFUSED)


@pages.get("/review/", include_in_schema=False)
def queue_page(request: Request) -> Response:
    return _page(request, "index.html")


@pages.get("/review/session", include_in_schema=False)
def session_page(request: Request) -> Response:
    return _page(request, "session.html")


# ---- the queue -----------------------------------------------------------------------------------------
def _day(d: date | None, end: bool = False) -> datetime | None:
    if d is None:
        return None
    return datetime.combine(d + timedelta(days=1) if end else d, dtime.min, tzinfo=timezone.utc)


@router.get("/queue", response_model=Queue, summary="Sessions waiting for review, worst integrity score first")
def queue(db: DB, me: Proctor, course_id: int | None = None, exam_id: int | None = None,
          college_id: int | None = None, date_from: date | None = None, date_to: date | None = None,
          status: str = Query("waiting", description="waiting (for review), live, all, or an attempt state"),
          limit: int = Query(200, ge=1, le=1000)) -> dict[str, Any]:
    if college_id is not None and college_id != me.college_id:
        raise ApiError(404, "not_found", f"no college {college_id}")
    q = sessions_of_college(select(ProctoringSession), me.college_id)
    if course_id is not None:
        q = q.where(Course.id == course_id)
    if exam_id is not None:
        q = q.where(Exam.id == exam_id)
    if date_from is not None:
        q = q.where(ProctoringSession.created_at >= _day(date_from))
    if date_to is not None:
        q = q.where(ProctoringSession.created_at < _day(date_to, end=True))
    if status == "waiting":
        q = q.where(Attempt.state.in_([s.value for s in REVIEWABLE]))
    elif status == "live":
        q = q.where(ProctoringSession.status.in_(views.ACTIVE))
    elif status != "all":
        try:
            q = q.where(Attempt.state == AttemptState(status).value)
        except ValueError:
            raise ApiError(422, "validation_error", f"unknown status {status!r}",
                           [{"field": "query.status", "message": "waiting, live, all or an attempt state"}])
    sessions = list(db.execute(q.limit(limit)).scalars())
    records: dict[str, list[dict[str, Any]]] = {s.id: [] for s in sessions}
    if sessions:
        for sid, seq, rec in db.execute(select(SessionEvent.session_id, SessionEvent.seq, SessionEvent.record)
                                        .where(SessionEvent.session_id.in_(list(records)))
                                        .order_by(SessionEvent.session_id, SessionEvent.seq)):
            records[sid].append({"seq": seq, "record": rec})
    rows = []
    for s in sessions:
        row = views.session_meta(db, s)
        row["counts"] = views.counts_by_kind(views.fold_with_seq(records[s.id]))
        rows.append(row)
    # worst first (offline imports and live sessions that ended alike); sessions not scored yet (still live)
    # after the scored ones, newest first among them
    rows.sort(key=lambda r: (r["integrity_score"] is None, r["integrity_score"] or 0.0,
                             -(datetime.fromisoformat(r["created_at"]).timestamp())))
    courses = db.execute(select(Course).where(Course.college_id == me.college_id).order_by(Course.code)).scalars()
    exams = db.execute(exams_of_college(select(Exam), me.college_id).order_by(Exam.title)).scalars()
    college = db.get(College, me.college_id)
    return {"sessions": rows,
            "filters": {"colleges": [{"id": college.id, "name": college.name}],
                        "courses": [{"id": c.id, "code": c.code, "title": c.title} for c in courses],
                        "exams": [{"id": e.id, "title": e.title, "course_id": e.course_id} for e in exams],
                        "statuses": ["waiting", "live", "all", *[s.value for s in AttemptState]]}}


@router.get("/me", response_model=Me, summary="The signed-in proctor")
def me_(db: DB, me: Proctor) -> dict[str, Any]:
    user = db.get(User, me.user_id) if me.user_id else None
    return {"id": me.user_id, "role": me.role.value if me.role else None, "college_id": me.college_id,
            "full_name": user.full_name if user else None}


# ---- a session -----------------------------------------------------------------------------------------
@router.get("/sessions/{session_id}", response_model=SessionView, summary="Everything the session page shows, with the verifications")
def session_detail(session_id: str, request: Request, db: DB, me: Proctor) -> dict[str, Any]:
    s = access.college_session(db, me, session_id)
    return views.session_view(db, _stores(request), s)


@router.get("/sessions/{session_id}/signals", response_model=Signals, summary="Signal series for the plots (head pose, faces, identity, audio)")
def signals(session_id: str, request: Request, db: DB, me: Proctor) -> dict[str, Any]:
    s = access.college_session(db, me, session_id)
    from server.storage.events import list_in

    entries = list_in(db, s.id)
    return views.load_series(_stores(request), s.id, entries, views.fold_with_seq(entries))


def _pieces(stores: Any, sid: str) -> tuple[list[Piece], str]:
    blobs = stores.recordings.blobs
    segs = [g for g in stores.recordings.list(sid) if g.kind == "video"]
    pieces, h = [], hashlib.sha256()
    for g in segs:
        try:
            data = blobs.get(g.key)
        except Exception:  # noqa: BLE001 - a missing blob: the verification names it
            continue
        pieces.append(Piece(data, float(g.t_start or 0.0)))
        h.update(hashlib.sha256(data).digest())
    return pieces, h.hexdigest()


@router.get("/sessions/{session_id}/recording.webm", response_class=WebmResponse, summary="The whole recording as one WebM (session time)")
def recording(session_id: str, request: Request, db: DB, me: Proctor) -> Response:
    s = access.college_session(db, me, session_id)
    stores = _stores(request)
    pieces, digest = _pieces(stores, s.id)
    if not pieces:
        raise ApiError(404, "not_found", "the session has no recording yet")
    cache = request.app.state.settings.data_dir / "review-cache"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{s.id}-{digest[:20]}.webm"
    if not path.is_file():
        try:
            data = concat_webm(pieces)
        except ValueError as exc:
            raise ApiError(422, "unplayable", str(exc))
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
        for stale in cache.glob(f"{s.id}-*.webm"):  # an older concatenation (a live session grew since)
            if stale != path:
                stale.unlink(missing_ok=True)
    return FileResponse(path, media_type="video/webm", headers={"Cache-Control": "private, no-cache"})


@router.get("/sessions/{session_id}/frame.jpg", response_class=JpegResponse, summary="A still of the recording at session time t")
def frame(session_id: str, request: Request, db: DB, me: Proctor, t: float = Query(ge=0)) -> Response:
    s = access.college_session(db, me, session_id)
    pieces, _ = _pieces(_stores(request), s.id)
    jpeg = frame_at(pieces, t)
    if jpeg is None:
        raise ApiError(404, "not_found", f"no recorded frame at {t} s")
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


def _blob(request: Request, key: str) -> bytes:
    blobs = _stores(request).recordings.blobs
    try:
        if blobs.exists(key):
            return blobs.get(key)
    except Exception:  # noqa: BLE001 - a bad key
        pass
    raise ApiError(404, "not_found", "no such file")


@router.get("/sessions/{session_id}/evidence/{name}", response_class=JpegResponse, summary="An evidence frame (JPEG)")
def evidence(session_id: str, name: str, request: Request, db: DB, me: Proctor) -> Response:
    s = access.college_session(db, me, session_id)
    return Response(_blob(request, f"{s.id}/evidence/{name}"), media_type="image/jpeg")


@router.get("/sessions/{session_id}/enrolment/{sha256}.jpg", response_class=JpegResponse, summary="An enrolment photo")
def enrolment_photo(session_id: str, sha256: str, request: Request, db: DB, me: Proctor) -> Response:
    s = access.college_session(db, me, session_id)
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ApiError(404, "not_found", "no such photo")
    return Response(_blob(request, f"{s.id}/enrolment/{sha256}.jpg"), media_type="image/jpeg")


@router.get("/sessions/{session_id}/export.html", response_class=HTMLResponse, summary="The session's report as one self-contained HTML file")
def export(session_id: str, request: Request, db: DB, me: Proctor, download: bool = False) -> Response:
    s = access.college_session(db, me, session_id)
    from server.review.export import render_export

    stores = _stores(request)
    view = views.session_view(db, stores, s)
    from server.storage.events import list_in

    entries = list_in(db, s.id)
    series = views.load_series(stores, s.id, entries, views.fold_with_seq(entries))
    html = render_export(view, series, stores, user_id=me.user_id)
    headers = {"Content-Disposition": f'attachment; filename="session-{s.id}.html"'} if download else {}
    return HTMLResponse(html, headers=headers)


# ---- live ----------------------------------------------------------------------------------------------
# These routes run their database work in a thread (asyncio.to_thread), never on the event loop that carries the
# students' media; they reach the live side only through the hub's public methods.
def _short_caller(request: Request) -> Principal:
    """Who is calling, looked up in a short transaction (the stream must not hold a request-wide one)."""
    with request.app.state.session_factory() as db, db.begin():
        p = get_principal(request, db)
        if p.is_api_key or not p.has_role(*STAFF):
            raise ApiError(403, "forbidden", "this needs the role proctor or college_admin")
        return p


def _live_session(request: Request, session_id: str, refused: str) -> Principal:
    """The caller, if the session is of their college and still live (409 ``refused`` otherwise)."""
    me = _short_caller(request)
    with transaction(request.app.state.session_factory) as db:
        s = access.college_session(db, me, session_id)
        if s.status not in views.ACTIVE:
            raise ApiError(409, "conflict", f"the session is {s.status}: {refused}")
    return me


MAX_EVENT_ID = 2**62  # chain sequence numbers are far below this; anything else in Last-Event-ID is ignored


def last_event_id(header: str | None) -> int | None:
    """The SSE ``Last-Event-ID`` as a chain seq, or None when it is absent, not a number or out of range."""
    if not header or len(header) > 20:
        return None
    try:
        value = int(header)
    except ValueError:
        return None
    return value if -1 <= value < MAX_EVENT_ID else None


@router.get("/sessions/{session_id}/stream", response_class=EventStreamResponse, summary="Server-Sent Events: new chain entries as they are stored")
async def stream(session_id: str, request: Request, after: int = Query(-1, ge=-1, lt=MAX_EVENT_ID)) -> StreamingResponse:
    factory = request.app.state.session_factory

    def allowed() -> None:
        me = _short_caller(request)
        with transaction(factory) as db:
            access.college_session(db, me, session_id)

    await asyncio.to_thread(allowed)
    last = last_event_id(request.headers.get("last-event-id"))
    if last is not None:
        after = max(after, last)

    def poll(after_seq: int) -> tuple[list[dict[str, Any]], str]:
        from server.storage.events import list_in

        with transaction(factory) as db:
            row = db.get(ProctoringSession, session_id)
            return list_in(db, session_id, after_seq), row.status if row else "error"

    async def gen() -> AsyncIterator[bytes]:
        seq, status = after, None
        yield b"retry: 1000\n\n"
        idle = 0
        while not await request.is_disconnected():
            entries, st = await asyncio.to_thread(poll, seq)
            for e in entries:
                seq = e["seq"]
                yield f"id: {seq}\nevent: entry\ndata: {json.dumps(e, separators=(',', ':'))}\n\n".encode()
            if st != status:
                status = st
                yield f"event: status\ndata: {json.dumps({'status': st, 'active': st in views.ACTIVE})}\n\n".encode()
            idle = 0 if entries else idle + 1
            if idle and idle % 40 == 0:
                yield b": keep-alive\n\n"
            await asyncio.sleep(0.25)

    return StreamingResponse(gen(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


class MessageIn(BaseModel):
    text: str = Field(min_length=1, max_length=1000)


class EndIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


def _hub(request: Request) -> Any:
    return getattr(request.app.state, "live_hub", None)


@router.post("/sessions/{session_id}/message", response_model=MessageSent,
             summary="Send a message to the student (live); it is logged in the chain")
async def message(session_id: str, body: MessageIn, request: Request) -> dict[str, Any]:
    me = await asyncio.to_thread(_live_session, request, session_id, "messages go to live sessions only")
    hub = _hub(request)
    t = hub.session_time(session_id) if hub is not None else None
    # the student page shows warnings by their text
    delivered = hub is not None and hub.send_to_student(session_id, {
        "type": "warning", "kind": "proctor_message", "code": "warning.proctor_message", "event_id": None,
        "text": body.text})
    entry = await asyncio.to_thread(_stores(request).events.append, session_id, {
        "type": "proctor_message", "t": t, "by": f"user:{me.user_id}", "text": body.text, "delivered": delivered})
    return {"delivered": delivered, "seq": entry["seq"]}


@router.post("/sessions/{session_id}/room-scan", response_model=RoomScanAsked,
             summary="Ask the student (live) to scan the room again; logged in the chain")
async def request_room_scan(session_id: str, request: Request) -> dict[str, Any]:
    me = await asyncio.to_thread(_live_session, request, session_id,
                                 "a room scan can be asked of live sessions only")
    hub = _hub(request)
    # the hub sends room_scan_request and records it (reason "proctor:user:<id>") when the student is connected
    delivered = bool(hub is not None and hub.request_room_scan(session_id, f"proctor:user:{me.user_id}"))
    return {"delivered": delivered}


def _end_attempt(request: Request, session_id: str, reason: str) -> tuple[Principal, str]:
    me = _short_caller(request)
    with transaction(request.app.state.session_factory, write_lock=True) as db:
        s = access.college_session(db, me, session_id)
        attempt = db.get(Attempt, s.attempt_id)
        if attempt.state == AttemptState.started.value:
            attempt_ops.transition(db, attempt, AttemptState.submitted, actor=me.actor, actor_id=me.user_id,
                                   reason=f"ended by the proctor: {reason}")
        elif attempt.state in (AttemptState.created.value, AttemptState.ready_to_start.value):
            attempt_ops.transition(db, attempt, AttemptState.error, actor=me.actor, actor_id=me.user_id,
                                   reason=f"ended by the proctor before the exam started: {reason}")
        elif s.status not in views.ACTIVE:
            raise ApiError(409, "conflict", f"the attempt is {attempt.state} and the session {s.status}")
        return me, attempt.state


@router.post("/sessions/{session_id}/end", response_model=AttemptEnded,
             summary="End the attempt now (live): submitted with the answers saved so far")
async def end_attempt(session_id: str, body: EndIn, request: Request) -> dict[str, Any]:
    me, state = await asyncio.to_thread(_end_attempt, request, session_id, body.reason)
    hub = _hub(request)
    t = hub.session_time(session_id) if hub is not None else None
    await asyncio.to_thread(_stores(request).events.append, session_id, {
        "type": "proctor_end", "t": t, "by": f"user:{me.user_id}", "reason": body.reason, "attempt_state": state})
    reason = f"ended by the proctor: {body.reason}"
    if hub is not None:  # finished (and scored) by the node serving it, or scored from its stored chain
        connected = await hub.end_session(session_id, status="ended", reason=reason)
    else:
        connected = False
        try:
            await asyncio.to_thread(_stores(request).sessions.end, session_id)
        except Exception:  # noqa: BLE001 - already ended
            pass
    return {"attempt_state": state, "connected": connected}


def _reference_key(request: Request, session_id: str, sha256: str, me: Principal) -> str:
    with transaction(request.app.state.session_factory) as db:
        s = access.college_session(db, me, session_id)
        return refs.photo_of(db, me, db.get(Attempt, s.attempt_id).student_id, sha256)


@router.get("/sessions/{session_id}/reference/{sha256}.jpg", response_class=JpegResponse,
            summary="A reference photo of the session's student (the college's, or a proctor's replacement)")
def reference_photo(session_id: str, sha256: str, request: Request, me: Proctor) -> Response:
    return Response(_blob(request, _reference_key(request, session_id, sha256, me)), media_type="image/jpeg")


def _replace_reference(request: Request, session_id: str, me: Principal, photos: list[bytes],
                       enrolled: refs.EnrolledPhotos, reason: str, t: float | None) -> tuple[int, int | None, int]:
    with transaction(request.app.state.session_factory, write_lock=True) as db:
        s = access.college_session(db, me, session_id)
        row, previous = refs.replace_by_proctor(db, _stores(request).recordings.blobs, s, me.actor, photos,
                                                enrolled, reason)
        entry = append_in(db, s.id, [{
            "type": "enrolment", "source": "proctor", "enrolment_id": row.id, "model": row.model,
            "photos": [{"sha256": h} for h in enrolled.sha256s], "by": me.actor, "reason": reason,
            "replaces": previous, "t": t}])[0]
        return row.id, previous, entry["seq"]


@router.post("/sessions/{session_id}/reference", response_model=ReferenceReplaced,
             summary="Replace the student's reference photo(s), also once the exam has started; recorded in the chain")
async def replace_reference(session_id: str, request: Request, photos: list[UploadFile],
                            reason: str = Form(min_length=1, max_length=2000)) -> dict[str, Any]:
    me = await asyncio.to_thread(_short_caller, request)
    await asyncio.to_thread(_check_session, request, session_id, me)
    limit = request.app.state.settings.live_max_photo_bytes
    data = [await u.read(limit + 1) for u in photos]
    data = await asyncio.to_thread(_sized, data, limit)
    hub = _hub(request)
    live = bool(hub is not None and hub.is_live(session_id))
    if live:  # the session's worker makes it and uses it from now on
        await asyncio.to_thread(refs.check_photos, data)  # the same pixel and darkness checks as the college's
        made, problem = await hub.enrol_photos(session_id, data)
        if problem is not None:
            raise refs.EnrolmentFailed(problem["message"], {"photo_index": problem["photo_index"],
                                                            "reason": problem["reason"]})
        enrolled = refs.EnrolledPhotos(made, [hashlib.sha256(p).hexdigest() for p in data], made.get("model"))
    else:  # dlib in a worker thread, never on the event loop
        enrolled = await asyncio.to_thread(refs.enrol_photos, data)
    t = hub.session_time(session_id) if hub is not None else None
    row_id, previous, seq = await asyncio.to_thread(_replace_reference, request, session_id, me, data, enrolled,
                                                    reason, t)
    return {"enrolment_id": row_id, "replaced_enrolment_id": previous, "photos": enrolled.sha256s, "seq": seq,
            "live": live}


def _check_session(request: Request, session_id: str, me: Principal) -> None:
    with transaction(request.app.state.session_factory) as db:
        access.college_session(db, me, session_id)


def _sized(photos: list[bytes], limit: int) -> list[bytes]:
    from proctor.settings import MAX_ENROL_PHOTOS

    if not 1 <= len(photos) <= MAX_ENROL_PHOTOS:
        raise refs.Invalid(f"send 1 to {MAX_ENROL_PHOTOS} photos", {"photos": len(photos)})
    for i, p in enumerate(photos):
        if len(p) > limit:
            raise refs.EnrolmentFailed(f"photo {i + 1} is larger than {limit} bytes",
                                       {"photo_index": i, "reason": "too_large"})
    return photos


def install_review(app: FastAPI) -> None:
    """Add the review pages, their assets and API to the app (called from server.app's marked hook)."""
    app.include_router(router)
    app.include_router(pages)
    app.mount("/review/assets", StaticFiles(directory=WEB), name="review-assets")
