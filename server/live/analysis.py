"""The analysis workers seen from the event loop: the worker processes (:class:`AnalysisPool`) and the calls the
hub makes to a session's analysis (:class:`Analysis`), fire-and-forget for media and awaitable for requests.

Every request that wants an answer goes through :meth:`Analysis.request`: it gives the message a request id,
sends it, and waits (with a timeout) for the worker's answer carrying that id, which the hub's router hands to
:meth:`Analysis.resolve`. Back-pressure is the worker's: it keeps only the newest frame of each session.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import os
import threading
import uuid
from typing import Any, Callable

from server.live.messages import (
    AudioBatch, CloseSession, EndRoomScan, EnrolPhotos, FinishSession, FromWorker, MediaBatch, OpenSession,
    ProbeIdentity, RaiseEvent, StartRoomScan, StopWorker, ToWorker, VideoPacket,
)
from server.live.worker import worker_main

log = logging.getLogger(__name__)

ENROL_TIMEOUT_S = 60.0
IDENTITY_TIMEOUT_S = 15.0
SCAN_TIMEOUT_S = 30.0
FINISH_TIMEOUT_S = 30.0
# Encoded frames for one worker go in one queue message every 20 ms instead of one each: each put wakes the queue's
# feeder thread and pickles apart, a third of the event-loop process's Python time at 20 sessions (py-spy --gil);
# 20 ms is nothing against the 1 s an event may take and the 200 ms between analysed frames.
MEDIA_BATCH_S = 0.02


def worker_cores(workers: int, pin: bool, usable: list[int], given: list[int] | None = None) -> list[int | None]:
    """The core each worker keeps to (None: wherever the kernel puts it). ``given`` (``live_worker_cores``): worker
    i on ``given[i % len(given)]``. Else, with ``pin``, worker i on the i-th usable core, so its threads keep their
    caches and stop migrating; only when the workers are exactly one per usable core: with other counts (several
    nodes on one machine) the same rule in every node would stack their workers on the first cores."""
    if given:
        return [given[i % len(given)] for i in range(workers)]
    if not pin or len(usable) != workers:
        return [None] * workers
    return list(usable)


def new_rid() -> str:
    return uuid.uuid4().hex[:12]


class AnalysisPool:
    """The worker processes of one server, and the thread that brings their messages to the event loop."""

    def __init__(self, workers: int, on_message: Callable[[FromWorker], None],
                 loop: asyncio.AbstractEventLoop | None = None, factory: str = "server.live.worker:default_analyzer",
                 pin: bool = False, cores: list[int] | None = None):
        self.factory = factory
        usable = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self.cores = worker_cores(max(1, workers), pin, usable, cores)
        self.loop = loop or asyncio.get_running_loop()
        self.on_message = on_message
        self.ctx = mp.get_context("spawn")
        self.outq = self.ctx.Queue()
        self.inqs: list[Any] = [None] * max(1, workers)
        self.procs: list[Any] = [None] * max(1, workers)
        self._media: list[list[VideoPacket | AudioBatch]] = [[] for _ in self.procs]
        self._flush: asyncio.TimerHandle | None = None
        for i in range(len(self.procs)):
            self._spawn(i)
        self.assigned: dict[str, int] = {}
        self.opened: dict[str, OpenSession] = {}  # to reopen after a crash
        self.restarts = 0
        self._reader = threading.Thread(target=self._read, name="analysis-results", daemon=True)
        self._reader.start()

    def _spawn(self, i: int) -> None:
        self.inqs[i] = self.ctx.Queue()
        self.procs[i] = self.ctx.Process(target=worker_main, args=(self.inqs[i], self.outq, i, self.cores[i]),
                                         name=f"proctor-analysis-{i}", daemon=True)
        self.procs[i].start()

    def check(self) -> list[str]:
        """Restart dead workers; their sessions are opened again (the analysis goes on from a fresh state, its
        event ids tagged apart). Returns the sessions that lost their analyser."""
        lost: list[str] = []
        for i, p in enumerate(self.procs):
            if p.is_alive():
                continue
            log.error("analysis worker %d (pid %s) died with exit code %s: restarting it", i, p.pid, p.exitcode)
            self.restarts += 1
            self._spawn(i)
            for sid, w in self.assigned.items():
                if w == i and sid in self.opened:
                    o = self.opened[sid]
                    self.inqs[i].put(OpenSession(sid, o.settings, o.enrolment, o.factory, uuid.uuid4().hex[:6]))
                    lost.append(sid)
        return lost

    def _read(self) -> None:
        while True:
            try:
                msg = self.outq.get()
            except (EOFError, OSError):
                return
            if msg is None:
                return
            try:
                self.loop.call_soon_threadsafe(self.on_message, msg)
            except RuntimeError:  # loop closed
                return

    def worker_of(self, sid: str) -> int:
        if sid not in self.assigned:
            load = [0] * len(self.inqs)
            for w in self.assigned.values():
                load[w] += 1
            self.assigned[sid] = load.index(min(load))
        return self.assigned[sid]

    def worker_pid(self, sid: str) -> int | None:
        """The pid of the process analysing the session (tests kill it to see the restart)."""
        return self.procs[self.worker_of(sid)].pid

    def send(self, sid: str, msg: ToWorker) -> None:
        """To the session's worker. Encoded media wait up to ``MEDIA_BATCH_S`` and go with the others for that
        worker in one :class:`MediaBatch`; any other message goes at once, after the media waiting before it (a
        worker sees each session's messages in the order they were sent). Call on the event loop."""
        i = self.worker_of(sid)
        if isinstance(msg, (VideoPacket, AudioBatch)):
            self._media[i].append(msg)
            if self._flush is None:
                self._flush = self.loop.call_later(MEDIA_BATCH_S, self.flush_media)
            return
        self._flush_worker(i)
        self.inqs[i].put(msg)

    def flush_media(self) -> None:
        self._flush = None
        for i in range(len(self.inqs)):
            self._flush_worker(i)

    def _flush_worker(self, i: int) -> None:
        if self._media[i]:
            batch, self._media[i] = self._media[i], []
            self.inqs[i].put(MediaBatch(tuple(batch)))

    def open(self, sid: str, settings: dict[str, Any], enrolment: dict[str, Any] | None, resumed: bool = False) -> None:
        """Start a session's analysis; ``resumed``: its chain already holds events (ids are tagged apart)."""
        msg = OpenSession(sid, settings, enrolment, self.factory, uuid.uuid4().hex[:6] if resumed else None)
        self.opened[sid] = msg
        self.send(sid, msg)

    def enrolled(self, sid: str, enrolment: dict[str, Any]) -> None:
        """The worker made an enrolment for the session: remember it in case the worker must be restarted."""
        o = self.opened.get(sid)
        if o is not None:
            self.opened[sid] = OpenSession(sid, o.settings, enrolment, o.factory, o.id_tag)

    def close_session(self, sid: str) -> None:
        if sid in self.assigned:
            self.send(sid, CloseSession(sid))
            del self.assigned[sid]
        self.opened.pop(sid, None)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid]

    def shutdown(self, timeout: float = 5.0) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        for q in self.inqs:
            q.put(StopWorker())
        for p in self.procs:
            p.join(timeout)
            if p.is_alive():
                p.terminate()
        self.outq.put(None)
        self._reader.join(1.0)


class Analysis:
    """A session's analysis as calls: ``send`` for media and events, awaitable requests for answers."""

    def __init__(self, pool: AnalysisPool):
        self.pool = pool
        self._waiters: dict[str, asyncio.Future[Any]] = {}

    def send(self, sid: str, msg: ToWorker) -> None:
        self.pool.send(sid, msg)

    async def request(self, sid: str, make: Callable[[str], ToWorker], timeout: float) -> Any:
        """The one request/response helper: send ``make(rid)``, await the answer :meth:`resolve` gives for rid
        (:class:`asyncio.TimeoutError` after ``timeout`` seconds)."""
        rid = new_rid()
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters[rid] = fut
        try:
            self.pool.send(sid, make(rid))
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._waiters.pop(rid, None)

    def resolve(self, rid: str | None, value: Any) -> None:
        fut = self._waiters.pop(rid, None) if rid else None
        if fut is not None and not fut.done():
            fut.set_result(value)

    # ---- the calls ------------------------------------------------------------------------------------
    def raise_event(self, sid: str, kind: str, start: float, end: float | None, source: str,
                    details: dict[str, Any] | None = None) -> None:
        self.send(sid, RaiseEvent(sid, new_rid(), kind, round(start, 3), None if end is None else round(end, 3),
                                  source, details or {}))

    async def enrol(self, sid: str, photos: list[bytes]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        return await self.request(sid, lambda rid: EnrolPhotos(sid, rid, photos), ENROL_TIMEOUT_S)

    async def probe_identity(self, sid: str) -> dict[str, Any]:
        return await self.request(sid, lambda rid: ProbeIdentity(sid, rid), IDENTITY_TIMEOUT_S)

    def start_room_scan(self, sid: str, t: float) -> None:
        self.send(sid, StartRoomScan(sid, round(t, 3)))

    async def end_room_scan(self, sid: str, t: float) -> dict[str, Any] | None:
        """The scan's summary once its event is stored (None without a scan)."""
        return await self.request(sid, lambda rid: EndRoomScan(sid, rid, round(t, 3)), SCAN_TIMEOUT_S)

    async def finish(self, sid: str, t_end: float) -> None:
        """Close every open event of the session (answered once they are stored)."""
        await self.request(sid, lambda rid: FinishSession(sid, rid, t_end), FINISH_TIMEOUT_S)
