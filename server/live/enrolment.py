"""The identity step's enrolment: the student's reference photo(s), taken now in the page or uploaded earlier by
the college, turned into an :class:`proctor.identity.Enrolment` (by the session's analysis worker, never in the
server's event loop process) and kept in ``identity_enrolments``.

``POST /api/live/sessions/{id}/enrolment`` (multipart ``photos``) enrols; a failure is a 422 that names the
photo and the reason (no face, several faces, too small, too dark ...). ``GET`` tells the page whether the
student already has an enrolment (e.g. the college's). The live analysis gets the enrolment at once, so the
page can ask for the live check (data channel ``identity_check``) right after.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

from fastapi import APIRouter, Request, UploadFile
from sqlalchemy import select

from proctor.settings import MAX_ENROL_PHOTOS as MAX_PHOTOS
from server.api.errors import ApiError
from server.db.engine import transaction
from server.db.models import IdentityEnrolment
from server.live.hub import LiveError
from server.live.routes import Caller, own_session
from server.live.schemas import Enrolled, EnrolmentStatus
from server.live.state import LoadedEnrolment

router = APIRouter(prefix="/api/live", tags=["live"])


def save_enrolment(session_factory: Any, student_id: int, enrolment: dict[str, Any], photo_sha256s: list[str],
                   model: str | None) -> int:
    """A new active enrolment for the student (older ones stay, inactive, for the audit trail)."""
    with transaction(session_factory, write_lock=True) as db:
        for old in db.execute(select(IdentityEnrolment).where(IdentityEnrolment.student_id == student_id,
                                                              IdentityEnrolment.is_active.is_(True))).scalars():
            old.is_active = False
        # the engine's whole Enrolment.to_dict() is kept in the JSON column, so from_dict gets it back intact
        row = IdentityEnrolment(student_id=student_id, photo_sha256s=photo_sha256s, embedding=enrolment,
                                model=model, is_active=True)
        db.add(row)
        db.flush()
        return row.id


def load_enrolment(app: Any) -> Callable[[Any], LoadedEnrolment | None]:
    """The enrolment a session uses: its own, else the student's active one (e.g. uploaded by the college)."""

    def load(state: Any) -> LoadedEnrolment | None:
        with transaction(app.state.session_factory) as db:
            row = None
            if state.enrolment_id is not None:
                row = db.get(IdentityEnrolment, state.enrolment_id)
            if row is None:
                row = db.execute(select(IdentityEnrolment).where(
                    IdentityEnrolment.student_id == state.student_id, IdentityEnrolment.is_active.is_(True))
                    .order_by(IdentityEnrolment.id.desc()).limit(1)).scalar_one_or_none()
            if row is None or not isinstance(row.embedding, dict):
                return None
            return LoadedEnrolment(row.embedding, list(row.photo_sha256s or []))

    return load


@router.get("/sessions/{session_id}/enrolment", response_model=EnrolmentStatus)
async def enrolment_status(session_id: str, request: Request, caller: Caller) -> dict[str, Any]:
    state = await own_session(request, caller, session_id)
    hub = request.app.state.live_hub
    data = await hub.store.run(load_enrolment(request.app), state)
    return {"enrolled": data is not None, "from_session": state.enrolment_id is not None}


@router.post("/sessions/{session_id}/enrolment", response_model=Enrolled)
async def enrol_photos(session_id: str, request: Request, caller: Caller, photos: list[UploadFile]) -> dict[str, Any]:
    hub = request.app.state.live_hub
    limit = hub.settings.live_max_photo_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit * MAX_PHOTOS:
        raise ApiError(413, "body_too_large", f"at most {MAX_PHOTOS} photos of {limit} bytes each")
    state = await own_session(request, caller, session_id)
    if not photos or len(photos) > MAX_PHOTOS:
        raise ApiError(422, "bad_photos", f"send 1 to {MAX_PHOTOS} photos")
    blobs, digests = [], []
    for i, upload in enumerate(photos):
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise ApiError(413, "body_too_large", f"photo {i} is larger than {limit} bytes")
        blobs.append(data)  # decoded by the worker ("unreadable" if it is not an image)
        digests.append(hashlib.sha256(data).hexdigest())
    try:
        data, problem = await hub.enrol_photos(session_id, blobs)
    except LiveError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc
    if problem is not None:
        raise ApiError(422, "enrolment_failed", problem["message"],
                       {"photo_index": problem["photo_index"], "reason": problem["reason"]})
    model = data.get("model") if isinstance(data.get("model"), str) else None
    row_id = await hub.store.run(save_enrolment, request.app.state.session_factory, state.student_id, data, digests,
                                 model)
    await hub.store.run(hub.stores.sessions.set_enrolment, session_id, row_id)
    # the chain names the photos the session's identity checks use from now on (the photos are not kept)
    hub.record(session_id, {"type": "enrolment", "enrolment_id": row_id, "model": model,
                            "photos": [{"sha256": h} for h in digests], "t": hub.session_time(session_id)})
    return {"enrolled": True, "enrolment_id": row_id, "photos": len(blobs)}
