"""A served session's upkeep, every heartbeat: the server decides when the exam ends (the session follows its
attempt: submitted, timed out or ended elsewhere), and the provisional integrity score while it runs."""

from __future__ import annotations

import logging
import time
from typing import Any

from server.live.session import SessionFlow, score_provisional
from server.live.state import LiveSession
from server.live.store import StoreSink
from server.settings import ServerSettings
from server.storage import Stores

log = logging.getLogger(__name__)


class Upkeep:
    def __init__(self, settings: ServerSettings, stores: Stores, store: StoreSink, flow: SessionFlow,
                 attempt_hooks: Any) -> None:
        self.settings, self.stores, self.store, self.flow, self.attempt_hooks = settings, stores, store, flow, attempt_hooks
        self.spawn_to: Any = None  # what runs the checks as tasks (the browser messages' spawn)

    def tick(self, s: LiveSession, now: float | None = None) -> None:
        """Look at the attempt; recompute the provisional score every ``live_provisional_score_s`` while events
        come or stay open, else every 4 periods (the shares only shrink as time passes)."""
        now = time.monotonic() if now is None else now
        self.spawn_to.spawn(self.attempt_over(s))
        period = self.settings.live_provisional_score_s
        quiet = s.events_stored == s.scored_events and not s.open_events
        if s.last_scored_mono is None or now - s.last_scored_mono >= (4 * period if quiet else period):
            s.last_scored_mono, s.scored_events = now, s.events_stored
            self.spawn_to.spawn(self.provisional_score(s))

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
