"""One session's record, the same for every driver (``proctor analyze`` offline, the live server's hub):
a ``session_start`` record (what was analysed: the video file or the live stream, the settings, the model files,
the enrolment photos' sha256), every event emission, and a ``session_end`` record with the integrity score
(:mod:`proctor.score`) computed from the events the chain holds. A live session is scored exactly as an offline
one.

The recorder builds the records and hands each to ``append`` (the offline :class:`proctor.chain.EventChain`, or
the server's event store on its store thread); it keeps no state of its own, so a live session that moved to
another node is ended by that node's recorder from the stored chain.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from proctor import __version__
from proctor.events import Event, fold_events
from proctor.score import IntegrityScore, integrity_score
from proctor.settings import EngineSettings


def score_records(records: Iterable[dict[str, Any]], duration_s: float,
                  settings: EngineSettings | None = None) -> IntegrityScore:
    """The integrity score of a session from its chain records (``{"record": ...}`` entries or bare records)."""
    return integrity_score(fold_events(records), duration_s, settings)


class SessionRecorder:
    def __init__(self, session_id: str, settings: EngineSettings, append: Callable[[dict[str, Any]], Any]):
        self.session_id = session_id
        self.settings = settings
        self.append = append

    def start(self, source: dict[str, Any], model_versions: dict[str, str],
              enrolment_photos: list[dict[str, Any]] | None, **extra: Any) -> dict[str, Any]:
        """The ``session_start`` record. ``source``: what is analysed, under its key (``{"video": {...}}`` for a
        file, ``{"stream": {...}}`` for a live session); ``enrolment_photos``: ``[{"sha256", ...}]`` or None."""
        record = {
            "type": "session_start",
            "session_id": self.session_id,
            "engine_version": __version__,
            **source,
            **extra,
            "enrolment": None if enrolment_photos is None else {"photos": list(enrolment_photos)},
            "settings": self.settings.model_dump(mode="json"),
            "model_versions": dict(model_versions),
        }
        self.append(record)
        return record

    def events(self, events: Iterable[Event]) -> list[dict[str, Any]]:
        """Every emission of the analyser, as chain records (evidence images are the caller's to store)."""
        records = [ev.to_record() for ev in events]
        for record in records:
            self.append(record)
        return records

    def end(self, records: Iterable[dict[str, Any]], duration_s: float, **extra: Any) -> IntegrityScore:
        """Score the session from its chain records and append the ``session_end`` record with the score (scored
        over the duration as recorded, to the millisecond, so anyone can redo it from the chain alone)."""
        duration = round(duration_s, 3)
        score = score_records(records, duration, self.settings)
        self.append({"type": "session_end", "duration_s": duration, **extra, "score": score.to_dict()})
        return score
