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
from server.db.models import Attempt, IdentityEnrolment
from server.domain.enums import AttemptState
from server.live.hub import LiveError
from server.live.routes import Caller, own_session
from server.live.schemas import Enrolled, EnrolmentStatus
from server.live.state import LoadedEnrolment
from server.services import reference_photos as refs
from server.services.errors import ReferenceLocked

router = APIRouter(prefix="/api/live", tags=["live"])


def save_enrolment(session_factory: Any, student_id: int, enrolment: dict[str, Any], photo_sha256s: list[str],
                   model: str | None, match: dict[str, Any] | None = None) -> int:
    """The enrolment made at a session's identity step: the session's (the exam's) enrolment, never the student's
    reference (that is the college's: ``server.services.reference_photos``), so it is stored inactive."""
    with transaction(session_factory, write_lock=True) as db:
        row = IdentityEnrolment(student_id=student_id, photo_sha256s=photo_sha256s, embedding=enrolment,
                                model=model, is_active=False, source="identity_step",
                                created_by=f"student:{student_id}", match=match)
        db.add(row)
        db.flush()
        return row.id


def prepare_enrolment(session_factory: Any, blobs: Any, state: Any, photos: list[bytes],
                      digests: list[str]) -> dict[str, Any] | None:
    """Before the worker enrols the photo(s) taken now: refuse once the exam has started (the student cannot
    replace the reference then; a proctor can), store the photos as evidence, and give the college's reference
    (``{"id", "embedding", "photos", "source"}``) or None."""
    with transaction(session_factory) as db:
        attempt = db.get(Attempt, state.attempt_id)
        if attempt is not None and attempt.state not in (AttemptState.created, AttemptState.ready_to_start):
            raise ReferenceLocked(f"the exam has started (attempt is {attempt.state}): the identity reference "
                                  "cannot be replaced now; a proctor can replace it", {"attempt_state": attempt.state})
        ref = refs.reference_of(db, state.student_id)
        reference = None if ref is None else {"id": ref.id, "embedding": ref.embedding, "source": ref.source,
                                              "photos": list(ref.photo_sha256s or [])}
    for data, digest in zip(photos, digests):
        blobs.put(refs.session_photo_key(state.id, digest), data)
    return reference


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
    reference = await hub.store.run(prepare_enrolment, request.app.state.session_factory,
                                    request.app.state.stores.recordings.blobs, state, blobs, digests)
    try:
        data, problem = await hub.enrol_photos(session_id, blobs)
    except LiveError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc
    if problem is not None:
        raise ApiError(422, "enrolment_failed", problem["message"],
                       {"photo_index": problem["photo_index"], "reason": problem["reason"]})
    model = data.get("model") if isinstance(data.get("model"), str) else None
    match = None
    if reference is not None:  # the photo taken now against the college's reference (the engine's distance)
        threshold = hub.engine_settings.with_overrides(state.settings_overrides or {}).identity.threshold
        match = {"reference_id": reference["id"], "reference_source": reference["source"],
                 **refs.compare(reference["embedding"], data, threshold)}
    row_id = await hub.store.run(save_enrolment, request.app.state.session_factory, state.student_id, data, digests,
                                 model, match)
    await hub.store.run(hub.stores.sessions.set_enrolment, session_id, row_id)
    t = hub.session_time(session_id)
    # the chain names the photos (kept as evidence at <session>/enrolment/<sha256>.jpg) the session's identity checks
    # use from now on, where the reference came from and, with a college reference, how the photo compared to it
    record: dict[str, Any] = {"type": "enrolment", "enrolment_id": row_id, "model": model,
                              "photos": [{"sha256": h} for h in digests], "t": t,
                              "source": "identity_step", "reference": None, "match": match}
    if reference is not None:
        record["reference"] = {"id": reference["id"], "source": reference["source"],
                               "photos": [{"sha256": h} for h in reference["photos"]]}
    else:
        record["reference_of_exam"] = True  # no reference on file: the photo taken now is the exam's reference
    hub.record(session_id, record)
    if match is not None and not match["match"]:
        # an identity_mismatch at the start: the attempt waits for a proctor's decision (AttemptHooks)
        hub.raise_event(session_id, "identity_mismatch", t or 0.0, t or 0.0, "identity_step",
                        {"stage": "enrolment", "enrolment_id": row_id, **match})
    return {"enrolled": True, "enrolment_id": row_id, "photos": len(blobs), "source": "identity_step",
            "reference_id": None if reference is None else reference["id"],
            "reference_match": None if match is None else match["match"],
            "distance": None if match is None else match.get("distance")}
