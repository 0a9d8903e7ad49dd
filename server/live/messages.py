"""What the hub and the analysis workers say to each other: frozen dataclasses, matched by type on both sides
(``match msg: case VideoPacket(...)``), as :mod:`server.live.protocol` does for the browser.

They cross a process boundary through ``multiprocessing`` queues, so they stay plain and small (slots, bytes,
numbers, short dicts): a worker takes ~75 video messages a second at 20 sessions. A request that wants an answer
carries a request id ``rid``; its answer carries the same one (:class:`server.live.analysis.Analysis` awaits it).
"""

from __future__ import annotations

import copyreg
from dataclasses import dataclass
from typing import Any, Union

JSON = dict[str, Any]


class Message:
    """Pickled as (class, field values): a third of the time of the dataclass default (about 8 against 25 us
    for a video packet, on this machine; a plain tuple takes 1-3 us)."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return type(self), tuple([getattr(self, name) for name in self.__slots__])


@dataclass(frozen=True, slots=True)
class StoredEvent(Message):
    """One event emission: its chain record and its evidence JPEGs (name -> bytes; stored as blobs)."""

    record: JSON
    images: dict[str, bytes]


# ---- hub -> worker ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OpenSession(Message):
    sid: str
    settings: JSON  # EngineSettings as JSON
    enrolment: JSON | None  # proctor.identity.Enrolment.to_dict()
    factory: str  # "module:function" building the analyser
    id_tag: str | None = None  # a resumed session: its event ids are tagged apart


@dataclass(frozen=True, slots=True)
class VideoPacket(Message):
    sid: str
    mime: str
    data: bytes  # one encoded frame
    rtp_ts: int
    t: float  # session time
    arrival: float  # time.monotonic() when it came off the connection


@dataclass(frozen=True, slots=True)
class AudioBatch(Message):
    sid: str
    mime: str
    packets: list[tuple[bytes, int]]  # (encoded packet, RTP timestamp)
    t: float  # session time of the first packet


@dataclass(frozen=True, slots=True)
class EnrolPhotos(Message):
    sid: str
    rid: str
    photos: list[bytes]


@dataclass(frozen=True, slots=True)
class ProbeIdentity(Message):
    sid: str
    rid: str


@dataclass(frozen=True, slots=True)
class RaiseEvent(Message):
    """An event from outside the analysers (a browser signal, a lost stream): its id comes from the session's
    one rule engine."""

    sid: str
    rid: str
    kind: str
    start: float
    end: float | None
    source: str
    details: JSON


@dataclass(frozen=True, slots=True)
class StartRoomScan(Message):
    sid: str
    t: float


@dataclass(frozen=True, slots=True)
class EndRoomScan(Message):
    sid: str
    rid: str
    t: float


@dataclass(frozen=True, slots=True)
class FinishSession(Message):
    sid: str
    rid: str
    t_end: float


@dataclass(frozen=True, slots=True)
class CloseSession(Message):
    sid: str


@dataclass(frozen=True, slots=True)
class StopWorker(Message):
    pass


@dataclass(frozen=True, slots=True)
class MediaBatch(Message):
    """The media messages for one worker from the last ``analysis.MEDIA_BATCH_S``, in the order they came."""

    messages: tuple[VideoPacket | AudioBatch, ...]


ToWorker = Union[OpenSession, VideoPacket, AudioBatch, MediaBatch, EnrolPhotos, ProbeIdentity, RaiseEvent,
                 StartRoomScan, EndRoomScan, FinishSession, CloseSession, StopWorker]


# ---- worker -> hub ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Opened(Message):
    sid: str
    error: str | None  # the analysis could not start


@dataclass(frozen=True, slots=True)
class FrameAnalysed(Message):
    """One analysed frame: its timing (time.monotonic(), one clock for every process) and what it raised."""

    sid: str
    t: float
    arrival: float
    decoded: float
    start: float
    done: float
    faces: int | None
    counters: dict[str, int]
    events: list[StoredEvent]


@dataclass(frozen=True, slots=True)
class EventsRaised(Message):
    sid: str
    rid: str | None  # the request it answers (RaiseEvent, FinishSession), None for audio events
    events: list[StoredEvent]


@dataclass(frozen=True, slots=True)
class IdentityProbed(Message):
    sid: str
    rid: str
    result: JSON  # proctor.pipeline.IdentityProbe.to_dict(), or {"ok": False, "reason": "error", ...}


@dataclass(frozen=True, slots=True)
class Enrolled(Message):
    sid: str
    rid: str
    enrolment: JSON | None
    problem: JSON | None  # {"photo_index", "reason", "message"} when it failed


@dataclass(frozen=True, slots=True)
class ScanProgress(Message):
    sid: str
    guide: JSON


@dataclass(frozen=True, slots=True)
class ScanJudged(Message):
    sid: str
    rid: str | None  # None: a scan the worker ended itself (too long)
    summary: JSON | None  # proctor.pipeline.RoomScanOutcome.summary(); None without a scan
    events: list[StoredEvent]


@dataclass(frozen=True, slots=True)
class DecodeFailed(Message):
    sid: str


@dataclass(frozen=True, slots=True)
class Closed(Message):
    sid: str
    counters: dict[str, int]


@dataclass(frozen=True, slots=True)
class WorkerFailed(Message):
    sid: str | None
    text: str


FromWorker = Union[Opened, FrameAnalysed, EventsRaised, IdentityProbed, Enrolled, ScanProgress, ScanJudged,
                   DecodeFailed, Closed, WorkerFailed]


# The messages sent many times a second are pickled as a one-byte extension code instead of their module and class
# name (copyreg's codes 240-255 are for private use): with it a video packet takes ~5 us to pickle and unpickle on
# this machine, against ~8 us without and ~1-3 us as a plain tuple (measured with 4.2 kB of VP8 frame).
for _code, _cls in enumerate((VideoPacket, AudioBatch, FrameAnalysed, EventsRaised, StoredEvent, MediaBatch),
                             start=240):
    copyreg.add_extension(__name__, _cls.__name__, _code)
