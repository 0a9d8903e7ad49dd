"""A served session's upkeep, every heartbeat: the server decides when the exam ends (the session follows its
attempt: submitted, timed out or ended elsewhere), the provisional integrity score while it runs, and the camera
stream's quality as it arrives (``quality.py``: a poor stretch is a ``stream_poor`` event, never scored)."""

from __future__ import annotations

import logging
import time
from typing import Any

from server.live.quality import Thresholds, vp8_frame_size
from server.live.session import SessionFlow, score_provisional
from server.live.state import LiveSession
from server.live.store import StoreSink
from server.settings import ServerSettings
from server.storage import Stores

log = logging.getLogger(__name__)

STALLED_S = 2.0  # no frame for this long: the stream stalls (stream_lost's job once it lasts), not judged as poor


class Upkeep:
    def __init__(self, settings: ServerSettings, stores: Stores, store: StoreSink, flow: SessionFlow,
                 attempt_hooks: Any) -> None:
        self.settings, self.stores, self.store, self.flow, self.attempt_hooks = settings, stores, store, flow, attempt_hooks
        self.spawn_to: Any = None  # what runs the checks as tasks (the browser messages' spawn)
        self.stream_thresholds = Thresholds.of(settings)

    def tick(self, s: LiveSession, now: float | None = None) -> None:
        """Look at the attempt; recompute the provisional score every ``live_provisional_score_s`` while events
        come or stay open, else every 4 periods (the shares only shrink as time passes)."""
        now = time.monotonic() if now is None else now
        self.spawn_to.spawn(self.attempt_over(s))
        self.measure_stream(s, now)
        period = self.settings.live_provisional_score_s
        quiet = s.events_stored == s.scored_events and not s.open_events
        if s.last_scored_mono is None or now - s.last_scored_mono >= (4 * period if quiet else period):
            s.last_scored_mono, s.scored_events = now, s.events_stored
            self.spawn_to.spawn(self.provisional_score(s))

    def measure_stream(self, s: LiveSession, now: float) -> None:
        """The window since the last heartbeat from the session's counters (no per-frame work of its own)."""
        size = vp8_frame_size(s.recorder.last_keyframe) if s.recorder is not None else None
        self.flow.stream_poor(s, s.stream.sample(now, s.now_t(), s.video_frames_in, s.video_bytes_in, s.generation,
                                                 size, self.stream_thresholds,
                                                 flowing=s.lost_t is None and s.last_media_mono is not None
                                                 and now - s.last_media_mono < STALLED_S))

    async def attempt_over(self, s: LiveSession) -> str | None:
        """The server decides when an exam ends: look at the session's attempt (moving it to ``timed_out`` if its
        time ran out); if it is over (submitted, timed out, ended by a proctor or in error) finish the session
        and return the attempt's state, else None."""
        if self.attempt_hooks is None or s.ending:
            return None
        try:
            state = await self.store.run(self.attempt_hooks.attempt_over, s.sid, self.settings.deadline_grace_s)
        except Exception as exc:  # noqa: BLE001 - the database may be briefly unavailable: ask again later
            log.warning("session %s: looking at the attempt: %s", s.sid, exc)
            return None
        if state is not None and not s.ending:
            await self.flow.finish(s, status="ended", reason=f"the attempt is {state}")
        return state

    async def provisional_score(self, s: LiveSession) -> None:
        """The same scoring as at the end, over the chain so far, on the store thread (a chain read)."""
        try:
            await self.store.run(score_provisional, self.stores, s.sid, s.engine(), s.now_t())
        except Exception as exc:  # noqa: BLE001
            log.warning("session %s: provisional score: %s", s.sid, exc)
