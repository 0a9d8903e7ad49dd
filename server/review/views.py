"""What the review page and the export show of a session, built only from the store (so live and imported
sessions look the same): folded events with the chain entry that last wrote each, the chain's and the
recording's verification, evidence, identity checks, room scan, browser events, proctor actions."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from proctor.events import BROWSER_KINDS, CONTEXT_KINDS, EVENT_KINDS
from server.services import attempts as attempt_ops
from server.services import reviews as review_ops
from server.domain.enums import ACTIVE_SESSION_STATUSES as ACTIVE
from server.db.models import (
    Attempt, College, Course, Exam, IdentityEnrolment, ProctoringSession, RecordingSegment, ReviewComment, User,
)
from server.storage import Stores
from server.storage.events import list_in, verify_in



def fold_with_seq(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """proctor.events.fold_events, keeping the seq of the entry that last wrote each event."""
    by_id: dict[str, dict[str, Any]] = {}
    for e in entries:
        rec = e["record"]
        if isinstance(rec, dict) and rec.get("type") == "event" and "id" in rec:
            by_id[rec["id"]] = {**rec, "seq": e["seq"]}
    return sorted(by_id.values(), key=lambda r: (float(r.get("start") or 0), str(r["id"])))


def counts_by_kind(events: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in events:
        out[e["kind"]] = out.get(e["kind"], 0) + 1
    return dict(sorted(out.items()))


def _records(entries: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [{**e["record"], "seq": e["seq"]} for e in entries if isinstance(e["record"], dict)
            and e["record"].get("type") == kind]


def verify_recording(db: Session, stores: Stores, sid: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The manifest re-read against the bytes (store), and the manifest against the chain's records."""
    check = stores.recordings.verify_manifest(sid).to_dict()
    chained = {(r.get("kind", "video"), r.get("index")): r.get("sha256") for r in _records(entries, "recording_segment")}
    rows = db.execute(select(RecordingSegment).where(RecordingSegment.session_id == sid)).scalars().all()
    for row in rows:
        want = chained.get((row.kind, row.index))
        if want is None:
            check["problems"].append({"kind": row.kind, "index": row.index, "problem": "not_in_chain",
                                      "detail": "the segment has no recording_segment record in the chain"})
        elif want != row.sha256:
            check["problems"].append({"kind": row.kind, "index": row.index, "problem": "manifest_mismatch",
                                      "detail": "the manifest's sha256 differs from the one in the chain"})
    check["ok"] = not check["problems"]
    check["segments"] = [{"index": r.index, "kind": r.kind, "bytes": r.bytes, "sha256": r.sha256,
                          "t_start": r.t_start, "t_end": r.t_end}
                         for r in sorted(rows, key=lambda r: (r.kind, r.index))]
    return check


def verify_evidence(stores: Stores, sid: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    blobs = stores.recordings.blobs  # type: ignore[attr-defined]
    checked, problems = 0, []
    for e in events:
        for f in (e.get("evidence") or {}).get("frames", []) or []:
            key = f"{sid}/evidence/{f.get('name')}"
            checked += 1
            try:
                ok = blobs.exists(key) and hashlib.sha256(blobs.get(key)).hexdigest() == f.get("sha256")
            except Exception:  # noqa: BLE001 - a bad key is a failed check
                ok = False
            if not ok:
                problems.append({"name": f.get("name"), "event": e["id"], "problem": "missing or altered"})
    return {"ok": not problems, "checked": checked, "problems": problems}


def verify_signature(db: Session, stores: Stores, sid: str) -> dict[str, Any] | None:
    """The signed checkpoints checked as ``proctor verify`` checks an export, with the server's own keys:
    what was removed, altered, reordered or added since it was signed, and what is not signed yet."""
    if getattr(stores, "evidence", None) is None:
        return None
    from server.evidence.bundle import signature_status

    return signature_status(db, stores.recordings.blobs, stores.evidence.keyring, sid)  # type: ignore[attr-defined]


def load_series(stores: Stores, sid: str, entries: list[dict[str, Any]],
                events: list[dict[str, Any]]) -> dict[str, Any]:
    """The signal series: the stored ``signal_series`` blob (its sha256 checked against the chain), else the
    series the events carry as evidence (live sessions), merged by time."""
    blobs = stores.recordings.blobs  # type: ignore[attr-defined]
    recs = _records(entries, "signal_series")
    if recs:
        rec = recs[-1]
        try:
            data = blobs.get(rec["key"])
        except Exception:  # noqa: BLE001
            data = None
        if data is not None:
            ok = hashlib.sha256(data).hexdigest() == rec.get("sha256")
            doc = json.loads(data)
            return {"source": "stored", "verified": ok, "frames": doc.get("frames", []), "audio": doc.get("audio", [])}
    frames: dict[float, dict[str, Any]] = {}
    audio: dict[float, dict[str, Any]] = {}
    for e in events:
        series = (e.get("evidence") or {}).get("series") or {}
        items = series if isinstance(series, list) else series.get("frames", []) if isinstance(series, dict) else []
        for p in items:
            if isinstance(p, dict) and "t" in p:
                (audio if "dbfs" in p else frames).setdefault(float(p["t"]), {}).update(p)
        if isinstance(series, dict):
            for p in series.get("audio", []) or []:
                if isinstance(p, dict) and "t" in p:
                    audio.setdefault(float(p["t"]), {}).update(p)
    return {"source": "event_evidence", "verified": None, "frames": [frames[t] for t in sorted(frames)],
            "audio": [audio[t] for t in sorted(audio)]}


def session_meta(db: Session, s: ProctoringSession) -> dict[str, Any]:
    attempt = db.get(Attempt, s.attempt_id)
    exam = db.get(Exam, attempt.exam_id)
    course = db.get(Course, exam.course_id)
    college = db.get(College, course.college_id)
    student = db.get(User, attempt.student_id)
    return {
        "id": s.id, "status": s.status, "live": s.status in ACTIVE,
        "created_at": s.created_at.isoformat(), "started_at": s.started_at.isoformat() if s.started_at else None,
        "ended_at": s.ended_at.isoformat() if s.ended_at else None, "integrity_score": s.integrity_score,
        "score_recommendation": s.score_recommendation,
        # a running session's score is provisional (recomputed every live_provisional_score_s); final once ended
        "score_provisional": bool(s.integrity_score is not None and (s.report or {}).get("provisional")),
        "stream_gaps": s.stream_gaps or [], "event_count": s.event_count,
        "attempt_id": attempt.id, "attempt_state": attempt.state,
        "student": {"id": student.id, "full_name": student.full_name, "external_id": student.external_id},
        "exam": {"id": exam.id, "title": exam.title, "type": exam.type},
        "course": {"id": course.id, "code": course.code, "title": course.title},
        "college": {"id": college.id, "name": college.name},
    }


def session_view(db: Session, stores: Stores, s: ProctoringSession) -> dict[str, Any]:
    entries = list_in(db, s.id)
    events = fold_with_seq(entries)
    attempt = db.get(Attempt, s.attempt_id)
    duration = _duration(s, entries, events)
    enrol = db.get(IdentityEnrolment, s.enrolment_id) if s.enrolment_id else None
    blobs = stores.recordings.blobs  # type: ignore[attr-defined]
    photos = [{"sha256": h, "stored": blobs.exists(f"{s.id}/enrolment/{h}.jpg")} for h in (enrol.photo_sha256s if enrol else [])]
    comments = db.execute(select(ReviewComment).where(ReviewComment.session_id == s.id)
                          .order_by(ReviewComment.t, ReviewComment.id)).scalars()
    start = next((e["record"] for e in entries if isinstance(e["record"], dict)
                  and e["record"].get("type") == "session_start"), {})
    threshold = ((start.get("settings") or {}).get("identity") or {}).get("threshold")
    return session_meta(db, s) | {
        "duration_s": duration,
        "events": [{**e, "label": EVENT_KINDS.get(e["kind"], e["kind"])} for e in events],
        "counts": counts_by_kind(events),
        "context_kinds": list(CONTEXT_KINDS),  # the stream's quality: shown on its own lane, never scored
        "browser_events": [e for e in events if e["kind"] in BROWSER_KINDS],
        "room_scan": {"records": _records(entries, "room_scan"), "requests": _records(entries, "room_scan_request"),
                      "events": [e for e in events if e["kind"].startswith("room_scan")]},
        "identity": {"photos": photos, "threshold": threshold,
                     "steps": _records(entries, "identity_step"),
                     # side by side for the proctor: the college's reference, the photo taken now (photos), the
                     # live frames (the recording at each step's t), the comparisons and the decisions
                     "reference": _reference(db, blobs, s, entries),
                     "enrolments": _records(entries, "enrolment"),
                     "decisions": _records(entries, "identity_decision"),
                     "mismatches": [e for e in events if e["kind"] == "identity_mismatch"]},
        "proctor_actions": _records(entries, "proctor_message") + _records(entries, "proctor_end")
        + _records(entries, "unproctored_allowed"),
        "page_requests_refused": _records(entries, "page_request_refused"),
        "score": _score(s) or next((e["record"].get("score") for e in reversed(entries)
                                                        if isinstance(e["record"], dict)
                                                        and e["record"].get("type") == "session_end"), None),
        "verification": {"chain": verify_in(db, s.id).to_dict(),
                         "recording": verify_recording(db, stores, s.id, entries),
                         "evidence": verify_evidence(stores, s.id, events),
                         "signature": verify_signature(db, stores, s.id)},
        "chain_head": entries[-1]["hash"] if entries else None,
        "entries": len(entries),
        "attempt": attempt_ops.summary(db, attempt),
        "comments": [review_ops.comment_dict(c) for c in comments],
        "reviews": [review_ops.review_dict(r) for r in review_ops.history(db, attempt.id)],
    }


def _reference(db: Session, blobs: Any, s: ProctoringSession, entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    from server.services.reference_photos import reference_key, session_reference

    ref = session_reference(db, s, entries)
    if ref is None:
        return None
    return {"id": ref.id, "source": ref.source, "active": bool(ref.is_active), "created_by": ref.created_by,
            "created_at": ref.created_at.isoformat() if ref.created_at else None,
            "photos": [{"sha256": h, "stored": blobs.exists(reference_key(ref.student_id, h))}
                       for h in (ref.photo_sha256s or [])]}


def _score(s: ProctoringSession) -> dict[str, Any] | None:
    """The score stored with the session (a live session's when it ended, an import's from its file)."""
    stored = (s.report or {}).get("score")
    if stored:
        return {**stored, "provisional": bool((s.report or {}).get("provisional"))}
    if s.integrity_score is None or s.score_recommendation is None:
        return None
    return {"score": s.integrity_score, "recommendation": s.score_recommendation,
            "breakdown": s.score_breakdown or {}}


def _duration(s: ProctoringSession, entries: list[dict[str, Any]], events: list[dict[str, Any]]) -> float:
    best = 0.0
    for e in entries:
        r = e["record"]
        if not isinstance(r, dict):
            continue
        for k in ("duration_s", "end", "t"):
            v = r.get(k)
            if isinstance(v, (int, float)):
                best = max(best, float(v))
    for e in events:
        best = max(best, float(e.get("end") or e.get("start") or 0))
    if s.started_at and s.status in ACTIVE:
        from server.db.base import utcnow

        best = max(best, (utcnow() - s.started_at).total_seconds())
    return round(best, 3)
