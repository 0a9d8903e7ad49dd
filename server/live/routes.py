"""HTTP endpoints of the live exam: WebRTC signalling, enrolment photos, live figures.

``POST /api/live/sessions/{id}/offer``  body ``{"sdp": "...", "type": "offer"}`` -> the answer. The browser
  waits for ICE gathering to complete before posting (no trickle). Posting again for the same session (after a
  dropped connection) resumes it.
``POST /api/live/sessions/{id}/enrolment``  one or more photos (multipart ``photos``) -> the student's
  enrolment, made with ``proctor.identity.enrol``; 422 names the photo and the reason when it fails.
``GET  /api/live/sessions/{id}/stats``  frames analysed / skipped, latencies, recording figures.
``GET  /api/live/config``  what the page needs (analysis fps, room scan length, grace period).

Errors use the API's format (``{"error": {"code", "message"}}``): 400 malformed SDP or an offer without
video, 403 another student's session, 404 unknown session (or, for the figures, one the caller may not see),
409 finished session, 413 body too large. The answers' shapes are in :mod:`server.live.schemas`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from server.api.deps import get_principal
from server.api.errors import ApiError
from server.auth.principal import Principal
from server.domain.enums import Role
from server.live.hub import LiveError, LiveHub
from server.live.schemas import Answer, LiveConfig, LiveStats

router = APIRouter(prefix="/api/live", tags=["live"])


def live_caller(request: Request) -> Principal:
    """Who is calling, looked up in a short transaction of its own: live requests wait on media and workers, so
    they must not hold the request-wide transaction (on SQLite a POST's holds the write lock)."""
    with request.app.state.session_factory() as db, db.begin():
        return get_principal(request, db)


Caller = Annotated[Principal, Depends(live_caller)]


def _hub(request: Request) -> LiveHub:
    hub = getattr(request.app.state, "live_hub", None)
    if hub is None:
        raise ApiError(503, "live_unavailable", "live exams are not enabled on this server")
    return hub


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "body_too_large", f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "body_too_large", f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def student_id(caller: Any) -> int:
    if caller.is_api_key or caller.role is not Role.student or caller.user_id is None:
        raise ApiError(403, "forbidden", "only the student taking the exam can do this")
    return caller.user_id


async def own_session(request: Request, caller: Any, session_id: str) -> Any:
    """The caller's own active session, or the matching 4xx."""
    try:
        return await _hub(request).student_session(session_id, student_id(caller))
    except LiveError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc


@router.post("/sessions/{session_id}/offer", response_model=Answer)
async def offer(session_id: str, request: Request, caller: Caller) -> dict[str, str]:
    hub = _hub(request)
    student = student_id(caller)
    raw = await _body(request, hub.settings.live_max_body_bytes)
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "malformed_body", f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("sdp"), str):
        raise ApiError(400, "malformed_body", 'expected {"sdp": "...", "type": "offer"}')
    try:
        return await hub.offer(session_id, student, body["sdp"], str(body.get("type", "offer")))
    except LiveError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc


@router.get("/sessions/{session_id}/stats", response_model=LiveStats, response_model_exclude_unset=True)
async def stats(session_id: str, request: Request, caller: Caller, since: float | None = None,
                samples: bool = False) -> dict[str, Any]:
    hub = _hub(request)
    state = await hub.session_state(session_id)  # read on the store thread, not the event loop
    own = state is not None and caller.user_id is not None and caller.user_id == state.student_id
    staff = state is not None and caller.college_id == state.college_id and \
        (caller.is_api_key or caller.role in (Role.proctor, Role.college_admin))
    if state is None or not (own or staff):  # another college's or student's session: as if there were none
        raise ApiError(404, "unknown_session", f"no proctoring session {session_id}")
    return {"session_id": session_id, "status": state.status, "live": hub.is_live(session_id),
            **hub.stats(session_id, since, samples)}


@router.get("/config", response_model=LiveConfig)
async def config(request: Request) -> dict[str, Any]:
    hub = _hub(request)
    return {"analysis_fps": hub.engine_settings.analysis_fps, "room_scan_s": hub.settings.live_room_scan_s,
            "grace_s": hub.settings.live_grace_s, "retention_days": hub.settings.live_retention_days,
            "video": hub.settings.live_video.model_dump()}
