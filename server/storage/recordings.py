"""Recording segments: the bytes go to a :class:`BlobStore`, the manifest (index, track, size, sha256,
times) to ``recording_segments``. ``verify_manifest`` re-reads every blob and reports what is missing,
altered, or absent from the index sequence."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from server.db.engine import transaction
from server.db.models import ProctoringSession, RecordingSegment
from server.domain.enums import TrackKind
from server.storage.blobs import BlobStore
from server.storage.events import UnknownSession


class SegmentConflict(ValueError):
    """A segment with this (session, kind, index) exists with different bytes."""


class SegmentCorrupt(ValueError):
    """The stored bytes no longer match the manifest's sha256."""


@dataclass(frozen=True)
class SegmentInfo:
    session_id: str
    index: int
    kind: str
    key: str
    bytes: int
    sha256: str
    t_start: float | None
    t_end: float | None
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        return d


@dataclass(frozen=True)
class ManifestVerification:
    ok: bool
    checked: int
    problems: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "problems": list(self.problems)}


class RecordingStore(Protocol):
    def put_segment(self, session_id: str, index: int, kind: str, data: bytes, *, t_start: float | None = None,
                    t_end: float | None = None, ext: str = "bin") -> SegmentInfo: ...

    def get(self, session_id: str, index: int, kind: str = "video") -> bytes: ...

    def list(self, session_id: str) -> list[SegmentInfo]: ...

    def verify_manifest(self, session_id: str) -> ManifestVerification: ...


def _info(row: RecordingSegment) -> SegmentInfo:
    return SegmentInfo(row.session_id, row.index, row.kind, row.key, row.bytes, row.sha256, row.t_start,
                       row.t_end, row.created_at)


class SqlRecordingStore:
    def __init__(self, session_factory: sessionmaker[Session], blobs: BlobStore):
        self.session_factory = session_factory
        self.blobs = blobs

    @staticmethod
    def key_for(session_id: str, kind: str, index: int, sha256: str, ext: str = "bin") -> str:
        # the digest in the key: two writers racing with different bytes never overwrite each other's blob
        return f"{session_id}/{kind}/{index:06d}-{sha256[:16]}.{ext.lstrip('.') or 'bin'}"

    def _find(self, db: Session, session_id: str, index: int, kind: str) -> RecordingSegment | None:
        return db.execute(
            select(RecordingSegment).where(RecordingSegment.session_id == session_id,
                                           RecordingSegment.kind == kind, RecordingSegment.index == index)
        ).scalar_one_or_none()

    def put_segment(self, session_id: str, index: int, kind: str, data: bytes, *, t_start: float | None = None,
                    t_end: float | None = None, ext: str = "bin") -> SegmentInfo:
        kind = TrackKind(kind).value
        if index < 0:
            raise ValueError("segment index must be >= 0")
        if not ext.replace(".", "").isalnum():
            raise ValueError(f"bad extension {ext!r}")
        digest = hashlib.sha256(data).hexdigest()
        with transaction(self.session_factory) as db:
            if db.get(ProctoringSession, session_id) is None:
                raise UnknownSession(session_id)
            existing = self._find(db, session_id, index, kind)
            if existing is not None:
                if existing.sha256 == digest:
                    return _info(existing)  # the same segment sent twice: nothing to do
                raise SegmentConflict(f"segment {kind}#{index} of session {session_id} exists with other bytes")
        key = self.key_for(session_id, kind, index, digest, ext)
        # bytes first and durable (fsynced file, uploaded object or fsynced spool entry): a manifest row never
        # points at nothing or at half a segment; StorageFull / StoreUnavailable leave no row behind
        self.blobs.put(key, data)
        try:
            with transaction(self.session_factory) as db:
                row = RecordingSegment(session_id=session_id, index=index, kind=kind, key=key, bytes=len(data),
                                       sha256=digest, t_start=t_start, t_end=t_end)
                db.add(row)
                db.flush()
                return _info(row)
        except IntegrityError:
            # a concurrent writer stored this segment first: keep its bytes, report the conflict if they differ
            with transaction(self.session_factory) as db:
                other = self._find(db, session_id, index, kind)
                if other is not None and other.sha256 == digest:
                    return _info(other)
            self.blobs.delete(key)
            raise SegmentConflict(f"segment {kind}#{index} of session {session_id} was written concurrently")

    def get(self, session_id: str, index: int, kind: str = "video") -> bytes:
        with transaction(self.session_factory) as db:
            row = self._find(db, session_id, index, kind)
            if row is None:
                raise KeyError(f"no {kind} segment {index} in session {session_id}")
            info = _info(row)
        data = self.blobs.get(info.key)
        if hashlib.sha256(data).hexdigest() != info.sha256:
            raise SegmentCorrupt(f"segment {kind}#{index} of session {session_id} does not match its sha256")
        return data

    def list(self, session_id: str) -> list[SegmentInfo]:
        with transaction(self.session_factory) as db:
            rows = db.execute(
                select(RecordingSegment).where(RecordingSegment.session_id == session_id)
                .order_by(RecordingSegment.kind, RecordingSegment.index)
            ).scalars().all()
            return [_info(r) for r in rows]

    def verify_manifest(self, session_id: str) -> ManifestVerification:
        with transaction(self.session_factory) as db:
            if db.get(ProctoringSession, session_id) is None:
                raise UnknownSession(session_id)
        segments = self.list(session_id)
        problems: list[dict[str, Any]] = []
        expected: dict[str, int] = {}
        for seg in segments:
            want = expected.get(seg.kind, 0)
            if seg.index != want:
                problems.append({"kind": seg.kind, "index": want, "problem": "missing",
                                 "detail": f"segments {want}..{seg.index - 1} are not in the manifest"})
            expected[seg.kind] = seg.index + 1
            if not self.blobs.exists(seg.key):
                problems.append({"kind": seg.kind, "index": seg.index, "problem": "blob_missing", "detail": seg.key})
                continue
            data = self.blobs.get(seg.key)
            if len(data) != seg.bytes:
                problems.append({"kind": seg.kind, "index": seg.index, "problem": "size_mismatch",
                                 "detail": f"{len(data)} bytes stored, {seg.bytes} recorded"})
            elif hashlib.sha256(data).hexdigest() != seg.sha256:
                problems.append({"kind": seg.kind, "index": seg.index, "problem": "sha256_mismatch",
                                 "detail": "the bytes were altered after they were written"})
        return ManifestVerification(not problems, len(segments), problems)
