"""The student's identity reference: the photo(s) the college registers (college API), the photo taken at a live
exam's identity step, and a proctor's replacement.

- Every photo is checked (pixel count, darkness) and enrolled by the engine (:func:`proctor.identity.enrol`:
  exactly one clear face, large and sharp enough); a photo that cannot be used is an :class:`EnrolmentFailed`
  naming the photo (``photo_index``) and the ``reason``. :func:`enrol_photos` is blocking work (dlib, 0.1-1 s a
  photo): callers run it in a worker thread or process, never on the event loop.
- The photos are stored as evidence in the blob store under their sha256 (:func:`reference_key` for the college's,
  ``<session>/enrolment/<sha256>.jpg`` for a session's) and the enrolment in ``identity_enrolments`` with its
  ``source`` (``college``, ``identity_step``, ``proctor``). A replaced or deleted reference is retired, never
  removed: the row keeps who retired it and when.
- The reference of a student is their newest active ``college`` (or ``proctor``) enrolment; the identity step's
  photo is compared with it by :func:`compare` (the engine's mean descriptor distance against the exam's
  threshold).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from proctor.settings import MAX_ENROL_PHOTOS, EngineSettings
from server.auth.principal import Principal
from server.db.base import utcnow
from server.db.models import Attempt, IdentityEnrolment, User
from server.domain.enums import AttemptState, Role
from server.services import access
from server.services.errors import EnrolmentFailed, Invalid, NotFound, ReferenceLocked

REFERENCE_SOURCES = ("college", "proctor")  # the sources that make a student's reference
MAX_PHOTO_PIXELS = 40_000_000  # a decoded photo larger than this is refused before it is decoded
DARK_REASON = "too_dark"


@dataclass(frozen=True)
class EnrolledPhotos:
    """What the engine made of 1..3 photos: the enrolment (``Enrolment.to_dict()``) and each photo's sha256."""

    enrolment: dict[str, Any]
    sha256s: list[str]
    model: str | None


def reference_key(student_id: int, sha256: str) -> str:
    """Where the college's reference photo is kept in the blob store."""
    return f"references/{student_id}/{sha256}.jpg"


def session_photo_key(session_id: str, sha256: str) -> str:
    """Where a session's enrolment photo is kept (the review serves it from there)."""
    return f"{session_id}/enrolment/{sha256}.jpg"


# --- the engine's enrolment (blocking) ------------------------------------------------------------------------
def _failed(index: int, count: int, reason: str, message: str) -> EnrolmentFailed:
    return EnrolmentFailed(f"photo {index + 1} of {count} (index {index}): {message}",
                           {"photo_index": index, "reason": reason})


def check_photos(photos: Sequence[bytes], settings: EngineSettings | None = None,
                 max_pixels: int = MAX_PHOTO_PIXELS) -> list[Any]:
    """Each photo decoded to RGB, or :class:`EnrolmentFailed` (unreadable, too_many_pixels, too_dark)."""
    from PIL import Image, UnidentifiedImageError

    from proctor.media import MediaError, decode_image_bytes

    settings = settings or EngineSettings()
    n = len(photos)
    if not 1 <= n <= MAX_ENROL_PHOTOS:
        raise Invalid(f"send 1 to {MAX_ENROL_PHOTOS} photos, got {n}", {"photos": n})
    images = []
    for i, data in enumerate(photos):
        try:
            with Image.open(io.BytesIO(data)) as im:  # reads the header only: the size before any decoding
                w, h = im.size
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise _failed(i, n, "unreadable", f"not a readable image ({exc})") from exc
        if w * h > max_pixels:
            raise _failed(i, n, "too_many_pixels", f"{w}x{h} is more than {max_pixels} pixels")
        try:
            rgb = decode_image_bytes(bytes(data), f"photo {i + 1}")
        except (MediaError, ValueError) as exc:
            raise _failed(i, n, "unreadable", str(exc)) from exc
        if rgb.ndim == 3 and rgb.shape[2] == 4:
            rgb = rgb[:, :, :3]
        luma = float(rgb.mean()) if rgb.ndim == 2 else float((rgb[..., :3] @ [0.299, 0.587, 0.114]).mean())
        if luma < settings.camera_blocked.dark_mean:
            raise _failed(i, n, DARK_REASON, f"too dark (mean brightness {luma:.1f} of 255, at least "
                                             f"{settings.camera_blocked.dark_mean:g} needed)")
        images.append(rgb)
    return images


def enrol_photos(photos: Sequence[bytes], settings: EngineSettings | None = None,
                 max_pixels: int = MAX_PHOTO_PIXELS) -> EnrolledPhotos:
    """Check and enrol 1..3 photos with the engine (blocking: run it off the event loop)."""
    from proctor.identity import EnrolmentError, enrol

    images = check_photos(photos, settings, max_pixels)
    try:
        enrolment = enrol(images)
    except EnrolmentError as exc:
        raise _failed(exc.photo_index, len(photos), exc.reason, str(exc)) from exc
    data = enrolment.to_dict()
    return EnrolledPhotos(data, [hashlib.sha256(p).hexdigest() for p in photos], enrolment.model_version)


def compare(reference: dict[str, Any], taken: dict[str, Any], threshold: float) -> dict[str, Any]:
    """The photo(s) taken now against the reference: the mean of the engine's enrolment distances of each
    taken descriptor to the reference's descriptors; a match at or under ``threshold``."""
    import numpy as np

    from proctor.identity import Enrolment, enrolment_distance

    ref, now = Enrolment.from_dict(reference), Enrolment.from_dict(taken)
    if ref.model_version != now.model_version:
        return {"match": False, "distance": None, "threshold": threshold,
                "problem": f"descriptor model {ref.model_version} vs {now.model_version}"}
    distance = float(np.mean([enrolment_distance(ref, d) for d in now.embeddings]))
    return {"match": distance <= threshold, "distance": round(distance, 4), "threshold": threshold}


# --- the store ------------------------------------------------------------------------------------------------
def _student(db: Session, caller: Principal, student_id: int) -> User:
    return access.college_user(db, caller, student_id, Role.student)


def reference_of(db: Session, student_id: int) -> IdentityEnrolment | None:
    """The student's reference: the newest active enrolment registered by the college (or a proctor)."""
    return db.execute(select(IdentityEnrolment).where(
        IdentityEnrolment.student_id == student_id, IdentityEnrolment.is_active.is_(True),
        IdentityEnrolment.source.in_(REFERENCE_SOURCES)).order_by(IdentityEnrolment.id.desc()).limit(1)
    ).scalar_one_or_none()


def _retire(db: Session, student_id: int, actor: str) -> list[int]:
    retired = []
    for row in db.execute(select(IdentityEnrolment).where(IdentityEnrolment.student_id == student_id,
                                                          IdentityEnrolment.is_active.is_(True))).scalars():
        row.is_active, row.retired_at, row.retired_by = False, utcnow(), actor
        retired.append(row.id)
    return retired


def started_attempts(db: Session, student_id: int) -> list[int]:
    """The student's attempts under way (an exam started and not submitted)."""
    return list(db.execute(select(Attempt.id).where(Attempt.student_id == student_id,
                                                    Attempt.state == AttemptState.started)).scalars())


def register(db: Session, blobs: Any, caller: Principal, student_id: int, photos: Sequence[bytes],
             enrolled: EnrolledPhotos) -> IdentityEnrolment:
    """The college registers (or replaces) the student's reference. While the student sits an exam the reference
    is locked (a proctor replaces it for that attempt)."""
    _student(db, caller, student_id)
    busy = started_attempts(db, student_id)
    if busy:
        raise ReferenceLocked("the student is sitting an exam: the reference cannot change until it is submitted "
                              "(a proctor can replace it for the attempt)", {"attempt_ids": busy})
    for data, digest in zip(photos, enrolled.sha256s):
        blobs.put(reference_key(student_id, digest), bytes(data))
    _retire(db, student_id, caller.actor)
    row = IdentityEnrolment(student_id=student_id, photo_sha256s=list(enrolled.sha256s), embedding=enrolled.enrolment,
                            model=enrolled.model, is_active=True, source="college", created_by=caller.actor)
    db.add(row)
    db.flush()
    return row


def history(db: Session, caller: Principal, student_id: int) -> list[IdentityEnrolment]:
    """Every reference the college or a proctor registered for the student, newest first (retired ones too)."""
    _student(db, caller, student_id)
    return list(db.execute(select(IdentityEnrolment).where(
        IdentityEnrolment.student_id == student_id, IdentityEnrolment.source.in_(REFERENCE_SOURCES))
        .order_by(IdentityEnrolment.id.desc())).scalars())


def retire(db: Session, caller: Principal, student_id: int, reference_id: int) -> IdentityEnrolment:
    """Delete (retire) a reference: it stops being used; the row and the photos stay for the audit trail."""
    _student(db, caller, student_id)
    row = db.get(IdentityEnrolment, reference_id)
    if row is None or row.student_id != student_id or row.source not in REFERENCE_SOURCES:
        raise NotFound.of("reference", reference_id)
    busy = started_attempts(db, student_id)
    if busy and row.is_active:
        raise ReferenceLocked("the student is sitting an exam: the reference cannot change until it is submitted",
                              {"attempt_ids": busy})
    if row.is_active:
        row.is_active, row.retired_at, row.retired_by = False, utcnow(), caller.actor
    return row


def reference_dict(row: IdentityEnrolment) -> dict[str, Any]:
    return {"id": row.id, "student_id": row.student_id, "source": row.source, "active": bool(row.is_active),
            "photos": [{"sha256": h} for h in (row.photo_sha256s or [])], "model": row.model,
            "created_at": row.created_at, "created_by": row.created_by, "retired_at": row.retired_at,
            "retired_by": row.retired_by}


def photo_of(db: Session, caller: Principal, student_id: int, sha256: str) -> str:
    """The blob key of one of the student's reference photos (404 when it is not one)."""
    _student(db, caller, student_id)
    for row in db.execute(select(IdentityEnrolment).where(IdentityEnrolment.student_id == student_id,
                                                          IdentityEnrolment.source.in_(REFERENCE_SOURCES))).scalars():
        if sha256 in (row.photo_sha256s or []):
            return reference_key(student_id, sha256)
    raise NotFound.of("reference photo", sha256)


def replace_by_proctor(db: Session, blobs: Any, session: Any, actor: str, photos: Sequence[bytes],
                       enrolled: EnrolledPhotos, reason: str) -> tuple[IdentityEnrolment, int | None]:
    """A proctor replaces the reference of a session's student (also once the exam has started): the new reference
    (``source`` proctor) becomes the student's and the session's enrolment; the older ones are retired. Returns the
    new row and the enrolment the session used before. The caller records it in the session's chain."""
    if not reason.strip():
        raise Invalid.field("a proctor's replacement needs a reason", "reason")
    attempt = db.get(Attempt, session.attempt_id)
    for data, digest in zip(photos, enrolled.sha256s):
        blobs.put(reference_key(attempt.student_id, digest), bytes(data))
        blobs.put(session_photo_key(session.id, digest), bytes(data))
    _retire(db, attempt.student_id, actor)
    row = IdentityEnrolment(student_id=attempt.student_id, photo_sha256s=list(enrolled.sha256s),
                            embedding=enrolled.enrolment, model=enrolled.model, is_active=True, source="proctor",
                            created_by=actor)
    db.add(row)
    db.flush()
    previous = session.enrolment_id
    session.enrolment_id = row.id
    return row, previous


def session_reference(db: Session, session: Any, entries: Sequence[dict[str, Any]]) -> IdentityEnrolment | None:
    """The reference a session's identity step was checked against (named by its last ``enrolment`` record), else
    the student's reference on file."""
    for e in reversed(list(entries)):
        r = e.get("record")
        if isinstance(r, dict) and r.get("type") == "enrolment":
            ref_id = (r.get("reference") or {}).get("id") if r.get("source") == "identity_step" else (
                r.get("enrolment_id") if r.get("source") == "proctor" else None)
            if ref_id:
                return db.get(IdentityEnrolment, ref_id)
    attempt = db.get(Attempt, session.attempt_id)
    return reference_of(db, attempt.student_id)


def record_identity_decision(db: Session, attempt: Attempt, actor: str) -> None:
    """A proctor confirmed the student's identity by hand: an ``identity_decision`` record in the session's chain,
    naming the mismatch with the reference it overrides (if any)."""
    from server.db.models import ProctoringSession
    from server.storage.events import append_in, list_in

    session = db.execute(select(ProctoringSession).where(ProctoringSession.attempt_id == attempt.id)
                         ).scalar_one_or_none()
    if session is None:
        return
    hold = None  # the last mismatch of the photo taken at the identity step with the reference, if any
    for e in list_in(db, session.id):
        r = e["record"]
        if isinstance(r, dict) and r.get("type") == "enrolment" and isinstance(r.get("match"), dict):
            hold = r["match"] if r["match"].get("match") is False else None
    append_in(db, session.id, [{"type": "identity_decision", "decision": "verified", "by": actor,
                                "overrides_mismatch": hold, "enrolment_id": session.enrolment_id}])
