"""Storage interfaces the live-exam side uses, with SQL and local-disk implementations.

* :class:`~server.storage.events.EventStore` — the engine's hash-chained events per proctoring session.
* :class:`~server.storage.sessions.SessionStore` — live proctoring-session state, kept in the database.
* :class:`~server.storage.recordings.RecordingStore` — recording segments (bytes in a :class:`BlobStore`,
  manifest with sha256 in the database).
* :class:`~server.evidence.signing.EvidenceSigner` — signed checkpoints of the chain and the manifest (the
  event store and the session store call it; the finish and export paths call ``checkpoint``).

``build_stores(settings, session_factory)`` picks the implementations from the settings, so PostgreSQL or
S3-compatible blob storage are a matter of configuration: ``blob_backend = "local"`` (files under
``data_dir/recordings``) or ``"s3"`` (:class:`~server.storage.s3.S3BlobStore` behind a
:class:`~server.storage.spool.SpooledBlobStore`, so blobs wait on local disk while the store is unreachable).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from server.evidence.keys import Keyring
from server.evidence.signing import EvidenceSigner
from server.settings import ServerSettings
from server.storage.blobs import BlobStore, LocalBlobStore, StorageError, StorageFull, StoreUnavailable
from server.storage.events import EventStore, SqlEventStore, UnknownSession
from server.storage.recordings import RecordingStore, SqlRecordingStore
from server.storage.sessions import SessionState, SessionStore, SqlSessionStore


@dataclass
class Stores:
    events: EventStore
    sessions: SessionStore
    recordings: RecordingStore
    evidence: EvidenceSigner | None = None

    def close(self, drain_s: float = 5.0) -> None:
        """Stop background blob uploads (a spool tries to drain for ``drain_s`` first; the rest stays on disk)."""
        blobs = getattr(self.recordings, "blobs", None)
        if hasattr(blobs, "close"):
            blobs.close(drain_s=drain_s)


def build_signer(settings: ServerSettings, session_factory: sessionmaker[Session]) -> EvidenceSigner:
    key = settings.evidence_signing_key.get_secret_value() if settings.evidence_signing_key else None
    keyring = Keyring(settings.resolved_evidence_key_file(), key)
    keyring.current()  # created on first start; a key file others can read stops the server here
    return EvidenceSigner(keyring, session_factory, every=settings.evidence_checkpoint_every,
                          interval_s=settings.evidence_checkpoint_interval_s)


def build_blob_store(settings: ServerSettings) -> BlobStore:
    if settings.blob_backend == "s3":
        from server.storage.s3 import S3BlobStore
        from server.storage.spool import SpooledBlobStore

        return SpooledBlobStore(S3BlobStore.from_settings(settings), settings.resolved_blob_spool_dir,
                                retry_base_s=settings.blob_spool_retry_base_s,
                                retry_max_s=settings.blob_spool_retry_max_s)
    return LocalBlobStore(settings.recordings_dir)


def build_stores(settings: ServerSettings, session_factory: sessionmaker[Session]) -> Stores:
    blobs = build_blob_store(settings)
    signer = build_signer(settings, session_factory)
    return Stores(
        events=SqlEventStore(session_factory, signer),
        sessions=SqlSessionStore(session_factory, signer),
        recordings=SqlRecordingStore(session_factory, blobs),
        evidence=signer,
    )


__all__ = [
    "BlobStore", "EventStore", "EvidenceSigner", "LocalBlobStore", "RecordingStore", "SessionState", "SessionStore",
    "SqlEventStore", "SqlRecordingStore", "SqlSessionStore", "StorageError", "StorageFull", "StoreUnavailable",
    "Stores", "UnknownSession", "build_blob_store", "build_signer", "build_stores",
]
