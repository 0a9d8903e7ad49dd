"""Storage interfaces the live-exam side uses, with SQL and local-disk implementations.

* :class:`~server.storage.events.EventStore` — the engine's hash-chained events per proctoring session.
* :class:`~server.storage.sessions.SessionStore` — live proctoring-session state, kept in the database.
* :class:`~server.storage.recordings.RecordingStore` — recording segments (bytes in a :class:`BlobStore`,
  manifest with sha256 in the database).

``build_stores(settings, session_factory)`` picks the implementations from the settings, so PostgreSQL or
S3-compatible blob storage are a matter of configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

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


def build_stores(settings: ServerSettings, session_factory: sessionmaker[Session]) -> Stores:
    blobs: BlobStore = LocalBlobStore(settings.recordings_dir)
    return Stores(
        events=SqlEventStore(session_factory),
        sessions=SqlSessionStore(session_factory),
        recordings=SqlRecordingStore(session_factory, blobs),
    )


__all__ = [
    "BlobStore", "EventStore", "LocalBlobStore", "RecordingStore", "SessionState", "SessionStore",
    "SqlEventStore", "SqlRecordingStore", "SqlSessionStore", "Stores", "UnknownSession", "build_stores",
]
