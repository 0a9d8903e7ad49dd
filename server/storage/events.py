"""The engine's event chain, persisted: one ``session_events`` row per :func:`proctor.chain.make_entry`.

Appends for one session are serialised: the session row is locked (``SELECT ... FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) before the last entry is read, so two writers can never fork the
chain; the unique (session_id, seq) constraint backs this up. The session row also keeps the chain head and
the entry count, so ``verify`` notices entries cut off the end, which the chain alone cannot show.
"""

from __future__ import annotations

from typing import Any, Iterable, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from proctor.chain import ChainVerification, genesis_for, make_entry, verify_chain
from server.db.engine import transaction
from server.db.models import ProctoringSession, SessionEvent


class UnknownSession(KeyError):
    def __init__(self, session_id: str):
        super().__init__(session_id)
        self.session_id = session_id

    def __str__(self) -> str:
        return f"no proctoring session {self.session_id!r}"


class EventStore(Protocol):
    def append(self, session_id: str, record: dict[str, Any]) -> dict[str, Any]: ...

    def append_many(self, session_id: str, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]: ...

    def list(self, session_id: str, after_seq: int = -1) -> list[dict[str, Any]]: ...

    def verify(self, session_id: str) -> ChainVerification: ...


def _entry(row: SessionEvent) -> dict[str, Any]:
    return {"seq": row.seq, "prev_hash": row.prev_hash, "record": row.record, "hash": row.hash}


def append_in(db: Session, session_id: str, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Append inside the caller's transaction (which should hold the write lock on SQLite)."""
    sess = db.execute(
        select(ProctoringSession).where(ProctoringSession.id == session_id).with_for_update()
    ).scalar_one_or_none()
    if sess is None:
        raise UnknownSession(session_id)
    last = db.execute(
        select(SessionEvent).where(SessionEvent.session_id == session_id).order_by(SessionEvent.seq.desc()).limit(1)
    ).scalar_one_or_none()
    prev = _entry(last) if last is not None else None
    genesis = genesis_for(session_id)
    out = []
    for record in records:
        entry = make_entry(prev, record, genesis)
        db.add(SessionEvent(session_id=session_id, seq=entry["seq"], prev_hash=entry["prev_hash"],
                            hash=entry["hash"], record=entry["record"]))
        out.append(entry)
        prev = entry
    if out:
        sess.event_count = out[-1]["seq"] + 1
        sess.chain_head = out[-1]["hash"]
        db.flush()
    return out


def list_in(db: Session, session_id: str, after_seq: int = -1) -> list[dict[str, Any]]:
    rows = db.execute(
        select(SessionEvent)
        .where(SessionEvent.session_id == session_id, SessionEvent.seq > after_seq)
        .order_by(SessionEvent.seq)
    ).scalars()
    return [_entry(r) for r in rows]


def verify_in(db: Session, session_id: str) -> ChainVerification:
    sess = db.get(ProctoringSession, session_id)
    if sess is None:
        raise UnknownSession(session_id)
    entries = list_in(db, session_id)
    result = verify_chain(entries, genesis_for(session_id))
    if not result.ok:
        return result
    if len(entries) != sess.event_count or (entries and entries[-1]["hash"] != sess.chain_head):
        n = len(entries)
        return ChainVerification(False, n, n, f"the chain holds {n} entries but {sess.event_count} were written: "
                                              "entries were removed from its end")
    return result


class SqlEventStore:
    """``signer`` (an :class:`~server.evidence.signing.EvidenceSigner`) makes the periodic signed checkpoints."""

    def __init__(self, session_factory: sessionmaker[Session], signer: Any = None):
        self.session_factory = session_factory
        self.signer = signer

    def append(self, session_id: str, record: dict[str, Any]) -> dict[str, Any]:
        return self.append_many(session_id, [record])[0]

    def append_many(self, session_id: str, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        records = list(records)
        if not records:
            return []
        with transaction(self.session_factory, write_lock=True) as db:
            out = append_in(db, session_id, records)
            if self.signer is not None:
                self.signer.maybe_checkpoint_in(db, session_id, out[-1]["seq"] + 1)
            return out

    def list(self, session_id: str, after_seq: int = -1) -> list[dict[str, Any]]:
        with transaction(self.session_factory) as db:
            return list_in(db, session_id, after_seq)

    def verify(self, session_id: str) -> ChainVerification:
        with transaction(self.session_factory) as db:
            return verify_in(db, session_id)
