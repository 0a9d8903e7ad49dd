"""The storage interfaces the live side uses: the event chain (concurrent appends, tampering and truncation
found), live session state in the database, recording segments with a verified manifest."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text, update

from proctor.chain import genesis_for, verify_chain
from server.db.base import utcnow
from server.db.engine import transaction
from server.db.models import RecordingSegment, SessionEvent
from server.storage import LocalBlobStore, SqlEventStore, SqlRecordingStore, SqlSessionStore, UnknownSession
from server.storage.recordings import SegmentConflict, SegmentCorrupt
from server.storage.sessions import IllegalSessionChange

from .conftest import make_proctoring_session
from .tamper import attacker


def test_concurrent_appends_make_one_unbroken_chain(factory, world) -> None:
    _, sid = make_proctoring_session(factory, world)
    store = SqlEventStore(factory)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(15):
                store.append(sid, {"kind": "face_missing", "writer": k, "i": i, "t": i * 0.2})
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    entries = store.list(sid)
    assert [e["seq"] for e in entries] == list(range(60))
    assert entries[0]["prev_hash"] == genesis_for(sid)
    assert store.verify(sid).ok
    assert verify_chain(entries, genesis_for(sid)).ok
    # every writer's entries kept their own order
    for k in range(4):
        assert [e["record"]["i"] for e in entries if e["record"]["writer"] == k] == list(range(15))
    assert store.list(sid, after_seq=57) == entries[58:]


def test_verify_names_an_altered_entry_and_a_cut_tail(factory, world) -> None:
    _, sid = make_proctoring_session(factory, world)
    store = SqlEventStore(factory)
    store.append_many(sid, [{"kind": "speech", "n": i} for i in range(5)])
    with attacker(factory) as db:
        db.execute(update(SessionEvent).where(SessionEvent.session_id == sid, SessionEvent.seq == 2)
                   .values(record={"kind": "speech", "n": 99}))
    result = store.verify(sid)
    assert not result.ok and result.first_bad_seq == 2 and "altered" in result.reason

    _, sid2 = make_proctoring_session(factory, world, "bob")
    store.append_many(sid2, [{"kind": "noise", "n": i} for i in range(4)])
    with attacker(factory) as db:
        db.execute(text("DELETE FROM session_events WHERE session_id = :s AND seq = 3"), {"s": sid2})
    result = store.verify(sid2)
    assert not result.ok and "removed" in result.reason


def test_unknown_session_is_refused(factory, world) -> None:
    store = SqlEventStore(factory)
    with pytest.raises(UnknownSession):
        store.append("nope", {"kind": "x"})
    with pytest.raises(UnknownSession):
        store.verify("nope")


def test_session_state_lives_in_the_database(factory, world) -> None:
    attempt_id, sid = make_proctoring_session(factory, world)
    with transaction(factory) as db:
        from server.db.models import Exam

        db.get(Exam, world.exam_id).engine_settings = {"looking_away": {"yaw_deg": 40}}
    store = SqlSessionStore(factory)
    store.set_overrides(sid, {"looking_away": {"pitch_deg": 20}})
    t0 = utcnow()
    st = store.mark_live(sid, "node-a", at=t0)
    assert st.status == "live" and st.started_at == t0 and st.node_id == "node-a"
    assert st.settings_overrides == {"looking_away": {"yaw_deg": 40, "pitch_deg": 20}}
    assert st.attempt_id == attempt_id and st.student_id == world.users["alice"] and st.college_id == world.college_id
    store.heartbeat(sid, "node-a", at=t0 + timedelta(seconds=5))
    with pytest.raises(IllegalSessionChange):
        store.heartbeat(sid, "node-b")
    store.stream_lost(sid, at=t0 + timedelta(seconds=10))
    st = store.mark_live(sid, "node-a", at=t0 + timedelta(seconds=14))
    assert st.stream_gaps == [{"start": (t0 + timedelta(seconds=10)).isoformat(),
                               "end": (t0 + timedelta(seconds=14)).isoformat()}]
    # a fresh store (another process) sees the same state
    assert SqlSessionStore(factory).get(sid) == st
    assert [s.id for s in store.active(world.college_id)] == [sid]
    assert store.active(world.other_college_id) == []
    # failover: node-a stops sending heartbeats; node-b may take over only once node-a is stale
    assert not store.claim(sid, "node-b", seen_before=t0)
    assert [s.id for s in store.stale(t0 + timedelta(minutes=1))] == [sid]
    assert store.claim(sid, "node-b", seen_before=t0 + timedelta(minutes=1))
    assert store.get(sid).node_id == "node-b"
    st = store.end(sid, integrity_score=87.5, report={"events": 3})
    assert st.status == "ended" and st.integrity_score == 87.5 and not st.is_active
    with pytest.raises(IllegalSessionChange):
        store.mark_live(sid, "node-b")
    assert store.for_attempt(attempt_id).id == sid


def test_recordings_are_stored_with_sha256_and_verified(factory, world, tmp_path) -> None:
    _, sid = make_proctoring_session(factory, world)
    blobs = LocalBlobStore(tmp_path / "recordings")
    store = SqlRecordingStore(factory, blobs)
    segs = [store.put_segment(sid, i, "video", bytes([i]) * (1000 + i), t_start=i * 10.0, t_end=i * 10.0 + 10,
                              ext="webm") for i in range(3)]
    store.put_segment(sid, 0, "audio", b"opus" * 100)
    assert store.put_segment(sid, 1, "video", bytes([1]) * 1001).sha256 == segs[1].sha256  # same bytes: idempotent
    with pytest.raises(SegmentConflict):
        store.put_segment(sid, 1, "video", b"other bytes")
    assert store.get(sid, 2) == bytes([2]) * 1002
    assert store.verify_manifest(sid).ok
    assert len(store.list(sid)) == 4

    (blobs.path_for(segs[1].key)).write_bytes(b"tampered")
    blobs.path_for(segs[2].key).write_bytes(bytes([9]) * 1002)  # same size, other bytes
    result = store.verify_manifest(sid)
    assert not result.ok
    assert {(p["index"], p["problem"]) for p in result.problems} == {(1, "size_mismatch"), (2, "sha256_mismatch")}
    with pytest.raises(SegmentCorrupt):
        store.get(sid, 2)
    blobs.path_for(segs[0].key).unlink()
    assert {"index": 0, "kind": "video", "problem": "blob_missing", "detail": segs[0].key} in \
        store.verify_manifest(sid).problems

    with attacker(factory) as db:  # a segment missing from the manifest
        db.execute(text("DELETE FROM recording_segments WHERE kind = 'audio'"))
        db.add(RecordingSegment(session_id=sid, index=2, kind="audio", key="x/y.bin", bytes=1, sha256="0" * 64))
    problems = store.verify_manifest(sid).problems
    assert {"kind": "audio", "index": 0, "problem": "missing",
            "detail": "segments 0..1 are not in the manifest"} in problems


def test_blob_keys_cannot_escape_the_root(tmp_path) -> None:
    blobs = LocalBlobStore(tmp_path)
    for bad in ("../x", "/etc/passwd", "a/../../b", ""):
        with pytest.raises(ValueError):
            blobs.put(bad, b"x")
