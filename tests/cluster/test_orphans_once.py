"""Orphaned live sessions (their node died, their student never came back) end once across nodes: two nodes'
sweeps (:func:`server.live.orphans.sweep`, each with its own connection pool) on one PostgreSQL, at the same
time, over sessions whose holder went silent longer than the grace period ago. Each such session is ended by
exactly one of them, as a lost stream ends on a live node; sessions whose node is alive are left alone."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from proctor.events import fold_events
from proctor.model_files import model_versions
from proctor.recorder import SessionRecorder
from proctor.rules import RuleEngine
from proctor.settings import EngineSettings
from server.cluster.postgres import PgServer
from server.db import migrate
from server.db.base import utcnow
from server.db.engine import make_engine, make_sessionmaker, transaction
from server.db.models import Attempt, Exam, ProctoringSession, User
from server.evidence.bundle import signature_status
from server.live.orphans import sweep
from server.seed import seed_demo
from server.services.attempts import proctoring_interruption
from server.settings import ServerSettings
from server.storage import build_stores

GRACE_S = 30.0
DEAD_LIVE, DEAD_LOST, ALIVE = 10, 3, 2  # sessions of a dead node (live, stream lost), sessions of a live node


def _sessions(factory, stores, kinds: list[str]) -> list[str]:
    """One started attempt and its proctoring session per kind, the chain begun as a live node begins it, with
    one event still open (its analyser was on the node)."""
    now = utcnow()
    out = []
    with transaction(factory, write_lock=True) as db:
        student = db.execute(select(User).where(User.email == "student@demo.college")).scalar_one()
        exam = db.execute(select(Exam).where(Exam.proctored.is_(True))).scalars().first()
        for n, kind in enumerate(kinds, start=1):
            a = Attempt(exam_id=exam.id, student_id=student.id, number=n, state="started", created_at=now,
                        started_at=now - timedelta(seconds=300), deadline_at=now + timedelta(hours=1))
            db.add(a)
            db.flush()
            seen = now if kind == "alive" else now - timedelta(seconds=200)
            ps = ProctoringSession(attempt_id=a.id, created_at=now - timedelta(seconds=300), status="live",
                                   node_id="node-alive" if kind == "alive" else "node-dead",
                                   started_at=now - timedelta(seconds=300), last_seen_at=seen)
            db.add(ps)
            db.flush()
            out.append(ps.id)
    engine = EngineSettings()
    for sid, kind in zip(out, kinds):
        SessionRecorder(sid, engine, lambda r, sid=sid: stores.events.append(sid, r)).start(
            {"stream": {"transport": "webrtc", "node_id": "node-dead"}}, model_versions(), None)
        stores.events.append(sid, RuleEngine(engine).external("face_missing", 90.0, None, "video").to_record())
        if kind == "lost":  # the node saw the stream go before it died
            stores.sessions.stream_lost(sid, now - timedelta(seconds=190))
    return out


def test_two_nodes_sweeps_end_each_orphaned_session_once(pg: PgServer, tmp_path: Path) -> None:
    url = pg.create_database("orphans_once")
    engines = [make_engine(url) for _ in range(2)]  # one engine (connection pool) per "node"
    migrate.upgrade(engines[0])
    factories = [make_sessionmaker(e) for e in engines]
    settings = ServerSettings(data_dir=tmp_path / "data", database_url=url, live_grace_s=GRACE_S)
    stores = [build_stores(settings, f) for f in factories]  # the same key and blob folder: one cluster
    with transaction(factories[0], write_lock=True) as db:
        seed_demo(db)
    kinds = ["live"] * DEAD_LIVE + ["lost"] * DEAD_LOST + ["alive"] * ALIVE
    sids = _sessions(factories[0], stores[0], kinds)
    orphans = {sid for sid, k in zip(sids, kinds) if k != "alive"}

    ended: list[list[str]] = [[], []]
    start = threading.Barrier(2)

    def node(i: int) -> None:
        start.wait()
        for _ in range(3):  # several passes each, as the periodic job makes them
            ended[i] += sweep(stores[i], settings, f"node-{i + 1}/orphan-sweep")

    threads = [threading.Thread(target=node, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)

    print("ended by node 1, node 2:", len(ended[0]), len(ended[1]))
    assert not set(ended[0]) & set(ended[1]) and len(ended[0]) + len(ended[1]) == len(orphans)
    assert set(ended[0]) | set(ended[1]) == orphans
    reader = stores[1]
    for sid, kind in zip(sids, kinds):
        state = reader.sessions.get(sid)
        records = [e["record"] for e in reader.events.list(sid)]
        folded = fold_events(records)
        if kind == "alive":
            assert state.status == "live" and "session_end" not in [r["type"] for r in records]
            continue
        # ended as the single-node path ends a lost stream the student never came back to
        assert state.status == "error" and state.ended_at is not None
        assert state.integrity_score is not None and not state.score_provisional
        assert [r["type"] for r in records].count("session_end") == 1 and records[-1]["type"] == "session_end"
        lost = [e for e in folded if e["kind"] == "stream_lost"]
        assert len(lost) == 1 and lost[0]["status"] == "closed"
        assert lost[0]["evidence"]["details"]["reconnected"] is False
        assert lost[0]["duration"] == GRACE_S
        assert lost[0]["start"] == (110.0 if kind == "lost" else 100.0)  # the gap the node opened, else last seen
        missing = [e for e in folded if e["kind"] == "face_missing"]
        assert missing[0]["status"] == "closed" and missing[0]["evidence"]["closed_by"] == "node_lost"
        assert state.stream_gaps and state.stream_gaps[-1]["end"] is not None
        assert reader.events.verify(sid).ok
        with transaction(factories[1]) as db:
            assert signature_status(db, reader.recordings.blobs, reader.evidence.keyring, sid)["status"] == "verified"
            attempt = db.get(Attempt, db.get(ProctoringSession, sid).attempt_id)
            # the attempt as the single-node path leaves it: started, its answers refused until a proctor allows
            assert attempt.state == "started"
            refused = proctoring_interruption(db, attempt, GRACE_S)
            assert refused is not None and refused["session_status"] == "error"
    # a later pass finds nothing more to end
    assert sweep(stores[0], settings, "node-1/orphan-sweep") == []
    for s in stores:
        s.close()
    for e in engines:
        e.dispose()
