"""Storage interfaces the live-exam side uses, with SQL and local-disk implementations.

* :class:`~server.storage.events.EventStore` — the engine's hash-chained events per proctoring session.
* :class:`~server.storage.sessions.SessionStore` — live proctoring-session state, kept in the database.
* :class:`~server.storage.recordings.RecordingStore` — recording segments (bytes in a :class:`BlobStore`,
  manifest with sha256 in the database).
* :class:`~server.evidence.signing.EvidenceSigner` — signed checkpoints of the chain and the manifest (the
  event store and the session store call it; the finish and export paths call ``checkpoint``).

``build_stores(settings, session_factory)`` picks the implementations from the settings, so PostgreSQL or
S3-compatible blob storage are a matter of configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from server.evidence.keys import Keyring
from server.evidence.signing import EvidenceSigner
from server.settings import ServerSettings
from server.storage.blobs import BlobStore, LocalBlobStore
from server.storage.events import EventStore, SqlEventStore, UnknownSession
from server.storage.recordings import RecordingStore, SqlRecordingStore
from server.storage.sessions import SessionState, SessionStore, SqlSessionStore


@dataclass
class Stores:
    events: EventStore
    sessions: SessionStore
    recordings: RecordingStore
    evidence: EvidenceSigner | None = None


def build_signer(settings: ServerSettings, session_factory: sessionmaker[Session]) -> EvidenceSigner:
    key = settings.evidence_signing_key.get_secret_value() if settings.evidence_signing_key else None
    keyring = Keyring(settings.resolved_evidence_key_file(), key)
    keyring.current()  # created on first start; a key file others can read stops the server here
    return EvidenceSigner(keyring, session_factory, every=settings.evidence_checkpoint_every,
                          interval_s=settings.evidence_checkpoint_interval_s)


def build_stores(settings: ServerSettings, session_factory: sessionmaker[Session]) -> Stores:
    blobs: BlobStore = LocalBlobStore(settings.recordings_dir)
    signer = build_signer(settings, session_factory)
    return Stores(
        events=SqlEventStore(session_factory, signer),
        sessions=SqlSessionStore(session_factory, signer),
        recordings=SqlRecordingStore(session_factory, blobs),
        evidence=signer,
    )


__all__ = [
    "BlobStore", "EventStore", "EvidenceSigner", "LocalBlobStore", "RecordingStore", "SessionState", "SessionStore",
    "SqlEventStore", "SqlRecordingStore", "SqlSessionStore", "Stores", "UnknownSession", "build_signer",
    "build_stores",
]
