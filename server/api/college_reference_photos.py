"""College API: each student's reference photo(s), the identity a live exam's identity step is checked against.

``POST /api/v1/students/{id}/reference-photos`` (multipart ``photos``, 1 to 3) registers or replaces the reference:
each photo is enrolled by the engine in a worker thread (never on the event loop) and stored as evidence with its
sha256; a photo that cannot be used is a 422 ``enrolment_failed`` naming it (``photo_index``) and the ``reason``.
``GET`` lists the references (retired ones too, with who retired them), ``DELETE .../{reference_id}`` retires one.
While the student sits an exam the reference is locked (409 ``reference_locked``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response, UploadFile
from pydantic import BaseModel

from proctor.settings import MAX_ENROL_PHOTOS
from server.api.deps import DB, CollegeActor
from server.services import reference_photos as refs
from server.services.errors import Invalid

router = APIRouter(prefix="/api/v1", tags=["college: reference photos"])


class ReferencePhotoOut(BaseModel):
    sha256: str


class ReferenceOut(BaseModel):
    id: int
    student_id: int
    source: str | None
    active: bool
    photos: list[ReferencePhotoOut]
    model: str | None
    created_at: datetime
    created_by: str | None
    retired_at: datetime | None
    retired_by: str | None


class JpegResponse(Response):
    media_type = "image/jpeg"


def read_uploads(photos: list[UploadFile], limit: int) -> list[bytes]:
    """The uploaded photos' bytes (1..3, each at most ``limit`` bytes), read in the route's worker thread."""
    if not photos or len(photos) > MAX_ENROL_PHOTOS:
        raise Invalid(f"send 1 to {MAX_ENROL_PHOTOS} photos", {"photos": len(photos or [])})
    out = []
    for i, upload in enumerate(photos):
        data = upload.file.read(limit + 1)
        if len(data) > limit:
            raise refs.EnrolmentFailed(f"photo {i + 1} is larger than {limit} bytes",
                                       {"photo_index": i, "reason": "too_large"})
        out.append(data)
    return out


def _blobs(request: Request) -> Any:
    return request.app.state.stores.recordings.blobs


# Sync routes: FastAPI runs them in its thread pool, so the engine's enrolment (dlib) never blocks the event loop.
@router.post("/students/{student_id}/reference-photos", response_model=ReferenceOut, status_code=201,
             summary="Register (or replace) a student's reference photo(s): enrolled by the engine, kept as evidence")
def register_reference(student_id: int, photos: list[UploadFile], request: Request, db: DB,
                       caller: CollegeActor) -> dict[str, Any]:
    settings = request.app.state.settings
    data = read_uploads(photos, settings.live_max_photo_bytes)
    refs.access.college_user(db, caller, student_id, refs.Role.student)  # 404 before the costly enrolment
    enrolled = refs.enrol_photos(data)
    row = refs.register(db, _blobs(request), caller, student_id, data, enrolled)
    return refs.reference_dict(row)


@router.get("/students/{student_id}/reference-photos", response_model=list[ReferenceOut],
            summary="A student's references, newest first (replaced and deleted ones too)")
def list_references(student_id: int, db: DB, caller: CollegeActor) -> list[dict[str, Any]]:
    return [refs.reference_dict(r) for r in refs.history(db, caller, student_id)]


@router.delete("/students/{student_id}/reference-photos/{reference_id}", response_model=ReferenceOut,
               summary="Delete a reference: it is no longer used (the record and its photos are kept)")
def delete_reference(student_id: int, reference_id: int, db: DB, caller: CollegeActor) -> dict[str, Any]:
    return refs.reference_dict(refs.retire(db, caller, student_id, reference_id))


@router.get("/students/{student_id}/reference-photos/photo/{sha256}.jpg", response_class=JpegResponse,
            summary="One reference photo, by its sha256")
def reference_photo(student_id: int, sha256: str, request: Request, db: DB, caller: CollegeActor) -> Response:
    key = refs.photo_of(db, caller, student_id, sha256)
    return Response(_blobs(request).get(key), media_type="image/jpeg")
