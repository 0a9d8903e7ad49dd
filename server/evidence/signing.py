"""Signed checkpoints of a session's evidence: the chain head, the record digests since the previous
checkpoint, the recording manifest, signed with the server's Ed25519 key (:mod:`server.evidence.keys`).

When a checkpoint is made:

* **periodically while the session runs**: after an append, when ``evidence_checkpoint_every`` (50) entries
  were written since the last checkpoint, or ``evidence_checkpoint_interval_s`` (60 s) passed and something
  was written. A live session writes a few entries a minute (events, a recording segment every 10 s), so this
  is about one checkpoint a minute: an attacker who gets in during the exam can only rewrite the last minute
  unnoticed, and verification reports that minute as *unsigned*, never as verified. A checkpoint costs one
  Ed25519 signature (~0.1 ms) and a row of ~100 bytes per entry covered; checking whether one is due is one
  indexed query.
* **when the session ends** (:meth:`EvidenceSigner.checkpoint` from the live finish path; also inside
  ``SessionStore.end``), and
* **on export** (the evidence export signs what it is about to export).

The signer never launders a change: before signing it checks that the chain still ends where the last
checkpoint said (same head hash at the same seq, new entries linking on from it) and that every segment it
signed before is still in the manifest unchanged. If not, it refuses (``EvidenceMismatch``), logs it, and the
verification shows the tampering.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from proctor.chain import entry_hash, genesis_for
from proctor.verify import build_payload, payload_hash, segment_item
from server.db.base import utcnow
from server.db.engine import transaction
from server.db.models import EvidenceCheckpoint, ProctoringSession, RecordingSegment, SessionEvent
from server.evidence.keys import Keyring

log = logging.getLogger("server.evidence")


class EvidenceMismatch(RuntimeError):
    """The stored evidence no longer matches what was signed: no new checkpoint is made over it."""


@dataclass(frozen=True)
class CheckpointInfo:
    session_id: str
    number: int
    reason: str
    through_seq: int
    key_id: str
    payload_sha256: str


def checkpoint_dict(row: EvidenceCheckpoint) -> dict[str, Any]:
    """A checkpoint as it goes into an export."""
    return {"payload": row.payload, "signature": row.signature, "key_id": row.key_id, "public_key": row.public_key}


def checkpoints_in(db: Session, session_id: str) -> list[EvidenceCheckpoint]:
    return list(db.execute(select(EvidenceCheckpoint).where(EvidenceCheckpoint.session_id == session_id)
                           .order_by(EvidenceCheckpoint.number)).scalars())


def _entry(row: SessionEvent) -> dict[str, Any]:
    return {"seq": row.seq, "prev_hash": row.prev_hash, "record": row.record, "hash": row.hash}


class EvidenceSigner:
    def __init__(self, keyring: Keyring, session_factory: sessionmaker[Session], *, every: int = 50,
                 interval_s: float = 60.0):
        self.keyring = keyring
        self.session_factory = session_factory
        self.every = max(1, int(every))
        self.interval = timedelta(seconds=max(0.0, float(interval_s)))
        # session -> (entries signed, when) of its last checkpoint made here: spares the append path a query.
        # Only a hint: another node's later checkpoint makes one due early here, and checkpoint_in reads the truth.
        self._last: dict[str, tuple[int, datetime]] = {}

    # ---- the one call of the finish and export paths -----------------------------------------------------
    def checkpoint(self, session_id: str, reason: str = "session_end") -> CheckpointInfo | None:
        """Sign everything not yet signed, in a transaction of its own. Never raises for a mismatch (it is
        logged and left for verification to show); returns None when there was nothing new to sign."""
        try:
            with transaction(self.session_factory, write_lock=True) as db:
                return self.checkpoint_in(db, session_id, reason)
        except EvidenceMismatch as exc:
            log.error("evidence checkpoint refused", extra={"session_id": session_id, "reason": str(exc)})
            return None

    def maybe_checkpoint_in(self, db: Session, session_id: str, event_count: int | None = None,
                            now: datetime | None = None) -> CheckpointInfo | None:
        """The periodic checkpoint, inside the caller's (appending) transaction; a failure never fails the append.
        ``event_count``: the chain's length now, if the caller knows it (spares a query)."""
        if event_count is None or session_id not in self._last:
            sess = db.get(ProctoringSession, session_id)
            if sess is None:
                return None
            event_count = sess.event_count
        if session_id in self._last:
            signed, since = self._last[session_id]
        else:
            last = db.execute(select(EvidenceCheckpoint).where(EvidenceCheckpoint.session_id == session_id)
                              .order_by(EvidenceCheckpoint.number.desc()).limit(1)).scalar_one_or_none()
            signed = last.through_seq + 1 if last is not None else 0
            since = (last.created_at if last is not None else sess.created_at) or utcnow()
            self._last[session_id] = (signed, since)
        fresh = event_count - signed
        now = now or utcnow()
        if fresh < self.every and not (fresh > 0 and now - since >= self.interval):
            return None
        try:
            with db.begin_nested():
                return self.checkpoint_in(db, session_id, "periodic")
        except Exception as exc:  # noqa: BLE001 - the append must not fail for a checkpoint
            log.error("periodic evidence checkpoint failed", extra={"session_id": session_id, "error": str(exc)})
            return None

    # ---- the checkpoint itself -------------------------------------------------------------------------------
    def checkpoint_in(self, db: Session, session_id: str, reason: str) -> CheckpointInfo | None:
        """Sign, inside the caller's transaction (which holds the session's write lock), what the last
        checkpoint does not cover. Raises EvidenceMismatch if the stored evidence contradicts it."""
        sess = db.execute(select(ProctoringSession).where(ProctoringSession.id == session_id)
                          .with_for_update()).scalar_one_or_none()
        if sess is None:
            raise KeyError(session_id)
        previous = checkpoints_in(db, session_id)
        last = previous[-1] if previous else None
        signed_count = last.payload["chain"]["count"] if last is not None else 0
        signed_segments: dict[tuple[str, int], dict[str, Any]] = {}
        for cp in previous:
            for s in cp.payload.get("segments") or []:
                signed_segments[(s["kind"], s["index"])] = s

        # the chain: still ending where it was signed, the new entries linking on
        rows = db.execute(select(SessionEvent).where(SessionEvent.session_id == session_id,
                                                     SessionEvent.seq >= signed_count - 1)
                          .order_by(SessionEvent.seq)).scalars().all()
        entries = [_entry(r) for r in rows]
        prev_hash = genesis_for(session_id)
        if last is not None and signed_count > 0:
            if not entries or entries[0]["seq"] != signed_count - 1 or entries[0]["hash"] != last.payload["chain"]["hash"]:
                raise EvidenceMismatch(f"session {session_id}: the chain no longer has the head signed by checkpoint "
                                       f"{last.number} (seq {signed_count - 1})")
            prev_hash = entries[0]["hash"]
            entries = entries[1:]
        for n, e in enumerate(entries):
            if e["seq"] != signed_count + n or e["prev_hash"] != prev_hash \
                    or entry_hash(e["seq"], e["prev_hash"], e["record"]) != e["hash"]:
                raise EvidenceMismatch(f"session {session_id}: chain entry {e['seq']} does not link on from the "
                                       "signed chain")
            prev_hash = e["hash"]

        # the recording manifest: what was signed is still there, unchanged
        segs = [{"kind": r.kind, "index": r.index, "key": r.key, "sha256": r.sha256, "bytes": r.bytes}
                for r in db.execute(select(RecordingSegment).where(RecordingSegment.session_id == session_id)).scalars()]
        current = {(s["kind"], s["index"]): segment_item(s) for s in segs}
        for k, s in signed_segments.items():
            if current.get(k) != s:
                raise EvidenceMismatch(f"session {session_id}: recording segment {k[0]}#{k[1]} differs from the "
                                       "signed manifest")
        new_segments = [s for k, s in current.items() if k not in signed_segments]
        if not entries and not new_segments:
            return None

        key = self.keyring.current()
        head = entries[-1] if entries else (
            {"seq": signed_count - 1, "hash": last.payload["chain"]["hash"]} if last is not None else None)
        number = len(previous)
        payload = build_payload(
            session_id=session_id, number=number, prev=payload_hash(last.payload) if last is not None else None,
            reason=reason, created_at=utcnow().isoformat(timespec="milliseconds"), key_id=key.key_id,
            session_status=sess.status, new_entries=entries, head=head, count=signed_count + len(entries),
            new_segments=new_segments, all_segments=list(current.values()))
        digest = payload_hash(payload)
        row = EvidenceCheckpoint(session_id=session_id, number=number, reason=reason,
                                 through_seq=payload["chain"]["seq"], key_id=key.key_id, public_key=key.public_b64,
                                 payload=payload, payload_sha256=digest, signature=key.sign(payload),
                                 created_at=datetime.now(timezone.utc))
        db.add(row)
        db.flush()
        if reason == "session_end":
            self._last.pop(session_id, None)
        else:
            self._last[session_id] = (payload["chain"]["count"], row.created_at)
        log.info("evidence checkpoint", extra={"session_id": session_id, "number": number, "reason": reason,
                                               "through_seq": row.through_seq, "key_id": key.key_id})
        return CheckpointInfo(session_id, number, reason, row.through_seq, key.key_id, digest)
