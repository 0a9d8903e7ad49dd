"""Orphaned live sessions: a session held by a node that died, whose student never came back. On one node the
watchdog ends a lost stream when the grace period passes (``SessionFlow.expire``); a node that is gone ends
nothing, so every node runs this sweep (:class:`OrphanSweep`, every ``live_orphan_sweep_s``) and ends, in the
stores, each live or stream-lost session whose holder has been silent for longer than the grace period plus the
node silence (``NODE_SILENCE_S``, the same bound after which the attempt's answers are refused).

A session is ended once across nodes: the sweep takes it with the session store's ``claim`` (one conditional
UPDATE on its row that refreshes ``last_seen_at``: the lease the nodes already use to take over a session from
a dead node), so of several sweeps, and of a sweep and a student's node resuming it, one wins; the others see
a fresh holder and pass it over. The end is written as the single-node path writes it: the gap opened in the
session store if the dead node had not (``SessionStore.stream_lost``), the events its analyser left open closed
(``session.close_dangling``), a ``stream_lost`` event with ``reconnected: false`` lasting the grace period, then
``session.end_scored``: ``session_end`` with the integrity score, the session ``error``. The attempt is left as
the single-node path leaves it: its answers are refused (``proctoring_interrupted``) until a proctor allows it
to go on unwatched, or it is submitted or times out.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any, Callable

from proctor.rules import RuleEngine
from proctor.settings import EngineSettings
from server.db.base import utcnow
from server.live.session import close_dangling, end_scored
from server.live.state import epoch
from server.periodic import Periodic
from server.services.attempts import NODE_SILENCE_S
from server.settings import ServerSettings
from server.storage import Stores
from server.storage.sessions import SessionState

log = logging.getLogger(__name__)

NOT_RETURNED = "the student did not reconnect within the grace period"
SWEEP = "orphan_sweep"


def orphaned_before(settings: ServerSettings, now: datetime) -> datetime:
    """A session whose holder was last seen before this is orphaned (its student had the grace period to
    return, and its node is silent for longer than a live node ever is)."""
    return now - timedelta(seconds=settings.live_grace_s + NODE_SILENCE_S)


def _gap_start(state: SessionState) -> datetime:
    """When the stream was lost: the gap the dead node opened, else when it was last seen."""
    gaps = state.stream_gaps or []
    if gaps and gaps[-1].get("end") is None and gaps[-1].get("start"):
        return datetime.fromisoformat(gaps[-1]["start"])
    return state.last_seen_at or state.started_at or state.created_at


def _swept(record: dict[str, Any]) -> bool:
    details = (record.get("evidence") or {}).get("details") or {}
    return record.get("kind") == "stream_lost" and details.get("ended_by") == SWEEP


def end_orphan(stores: Stores, state: SessionState, settings: ServerSettings,
               engine: EngineSettings | None = None) -> bool:
    """End a session claimed by this sweep (``state`` as it was before the claim) the way a lost stream ends on a
    live node; False if it had ended meanwhile."""
    current = stores.sessions.get(state.id)
    if current is None or not current.is_active:
        return False
    lost_at = _gap_start(state)
    if current.status == "live":  # the node died without saying so: open the gap in the store
        stores.sessions.stream_lost(state.id, lost_at)
    t0 = epoch(state.started_at or state.created_at)
    start = max(0.0, epoch(lost_at) - t0)
    end = start + settings.live_grace_s
    close_dangling(stores, state.id, start, "node_lost")
    base = engine or EngineSettings()
    engine_settings = base.with_overrides(state.settings_overrides) if state.settings_overrides else base
    if not any(_swept(e["record"]) for e in stores.events.list(state.id)):  # not written by a sweep cut short
        rules = RuleEngine(engine_settings)
        rules.ids.tag = uuid.uuid4().hex[:6]  # like a resumed analyser: its ids never repeat those in the chain
        event = rules.external("stream_lost", start, end, "server", {
            "duration_s": round(end - start, 3), "reconnected": False, "grace_s": settings.live_grace_s,
            "node_id": state.node_id, "ended_by": SWEEP})
        stores.events.append(state.id, event.to_record())
    return end_scored(stores, state.id, engine_settings, end, "error", reason=NOT_RETURNED) is not None


def sweep(stores: Stores, settings: ServerSettings, sweeper_id: str, now: datetime | None = None,
          engine: EngineSettings | None = None) -> list[str]:
    """One pass: claim and end every orphaned session; returns the ids this sweep ended."""
    seen_before = orphaned_before(settings, now or utcnow())
    ended = []
    for state in stores.sessions.stale(seen_before):
        if not stores.sessions.claim(state.id, sweeper_id, seen_before):
            continue  # another sweep, or a node the student came back to, has it
        try:
            if end_orphan(stores, state, settings, engine):
                ended.append(state.id)
                log.info("orphaned session ended", extra={"session_id": state.id, "node_id": state.node_id,
                                                          "last_seen_at": str(state.last_seen_at)})
        except Exception:  # noqa: BLE001 - the next session still gets its end; this one is tried again later
            log.exception("ending orphaned session %s failed", state.id)
    return ended


class OrphanSweep:
    """Runs :func:`sweep` every ``live_orphan_sweep_s`` on a thread (every node runs one)."""

    def __init__(self, stores: Stores, settings: ServerSettings, node_id: str,
                 clock: Callable[[], datetime] = utcnow, engine: EngineSettings | None = None) -> None:
        # a holder id of its own: a student's offer to this very node must not pass for the sweep's claim
        self.sweeper_id = f"{node_id}/orphan-sweep"
        run: Callable[[], Any] = lambda: sweep(stores, settings, self.sweeper_id, clock(), engine)  # noqa: E731
        self.settings = settings
        self._periodic = Periodic("orphan sweep", run, settings.live_orphan_sweep_s, log)

    def start(self) -> None:
        if self.settings.live_orphan_sweep_s > 0:
            self._periodic.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._periodic.stop(timeout)
