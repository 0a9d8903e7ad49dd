"""Signed evidence, on SQLite and PostgreSQL: a real session (an engine run over a real clip, imported into the
store: chain, VP8 recording segments, evidence frames, signal series), its signed checkpoints, the evidence
export and ``proctor verify`` on it; an attacker with database and disk access who deletes an event, alters a
recording segment, rewrites the manifest and recomputes the chain; reordered and added entries; a wrong key;
entries after the last checkpoint; periodic checkpoints; the key file and its rotation; append-only triggers."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import stat
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from proctor.chain import genesis_for, make_entry
from proctor.cli import main as proctor_main
from server.db.base import utcnow
from server.db.engine import transaction
from server.db.guards import AppendOnlyViolation
from server.db.models import EvidenceCheckpoint, ProctoringSession, RecordingSegment, SessionEvent
from server.evidence.bundle import collect, write_zip
from server.evidence.keys import EvidenceKeyError, Keyring
from server.evidence.signing import EvidenceSigner
from server.review.importer import import_offline_session
from server.storage import SqlEventStore

from .conftest import make_proctoring_session
from .tamper import attacker

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CLIP = DATA / "video" / "two_people_dinner.mp4"  # two people at a table: the engine reports multiple_faces
REFERENCE = DATA / "faces" / "amy_adams" / "01.jpg"  # an enrolment photo (someone else: identity checks fail)


@pytest.fixture(scope="session")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One engine run over the clip, imported into each test's store."""
    from proctor.analyze import analyze_file

    out = tmp_path_factory.mktemp("analysis")
    analyze_file(CLIP, out, references=[REFERENCE], progress=False)
    return out


@pytest.fixture
def real_session(app, client, factory, world, analysis) -> str:
    _, sid = make_proctoring_session(factory, world, state="submitted")
    import_offline_session(app.state.stores, factory, sid, analysis_dir=analysis, video=CLIP, references=[REFERENCE])
    return sid


def _chain(factory, sid: str) -> list[dict[str, Any]]:
    return SqlEventStore(factory).list(sid)


def _export(client, world, sid: str, path: Path) -> Path:
    r = client.get(f"/api/evidence/sessions/{sid}/export.zip", headers=world.h("proctor"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    path.write_bytes(r.content)
    return path


def _server_key(client, tmp_path: Path) -> Path:
    keys = client.get("/api/evidence/keys").json()
    current = next(k for k in keys["keys"] if k["key_id"] == keys["current"])
    path = tmp_path / f"server-{current['key_id']}.pem"
    path.write_text(current["public_key_pem"])
    return path


def _verify(capsys, export: Path, *keys: Path | str) -> tuple[int, str]:
    args = ["verify", str(export)]
    for k in keys:
        args += ["--public-key", str(k)]
    rc = proctor_main(args)
    return rc, capsys.readouterr().out


def _recompute(db, sid: str, records: list[dict[str, Any]]) -> None:
    """The attacker rewrites the session's whole chain so that every link verifies again."""
    db.execute(delete(SessionEvent).where(SessionEvent.session_id == sid))
    prev = None
    for record in records:
        prev = make_entry(prev, record, genesis_for(sid))
        db.execute(insert(SessionEvent).values(session_id=sid, seq=prev["seq"], prev_hash=prev["prev_hash"],
                                               hash=prev["hash"], record=prev["record"], created_at=utcnow()))
    db.execute(update(ProctoringSession).where(ProctoringSession.id == sid)
               .values(event_count=len(records), chain_head=prev["hash"] if prev else None))


# ---- the tamper case ------------------------------------------------------------------------------------
def test_untouched_export_verifies_with_the_pinned_key(app, client, world, real_session, tmp_path, capsys) -> None:
    sid = real_session
    export = _export(client, world, sid, tmp_path / "session.zip")
    names = set(zipfile.ZipFile(export).namelist())
    assert {"evidence.json", "report.html", "signals.json"} <= names
    assert any(n.startswith("recording/video-") for n in names) and any(n.startswith("evidence/") for n in names)
    doc = json.loads(zipfile.ZipFile(export).read("evidence.json"))
    assert [c["payload"]["reason"] for c in doc["checkpoints"]] == ["session_end"]  # nothing new to sign on export
    assert doc["checkpoints"][0]["payload"]["chain"]["count"] == len(doc["chain"]["entries"])
    # the report prints the public key and the signature's status
    report = zipfile.ZipFile(export).read("report.html").decode()
    key = client.get("/api/evidence/keys").json()["keys"][0]
    assert key["public_key"] in report and 'data-status="verified"' in report

    rc, out = _verify(capsys, export, _server_key(client, tmp_path))
    assert rc == 0, out
    assert "VERIFIED: everything in the export is covered by a valid signature" in out and "(pinned)" in out
    assert "[tampered]" not in out and "[unsigned]" not in out
    # without --public-key: the key printed in the export is used, and the output says it was not pinned
    rc, out = _verify(capsys, export)
    assert rc == 0 and "NOT pinned" in out and "the public key was not pinned" in out
    # the review's verification says the same, with the server's own keys
    v = client.get(f"/api/review/sessions/{sid}", headers=world.h("proctor")).json()["verification"]["signature"]
    assert v["status"] == "verified" and v["key_pinned"] is True


def test_deleted_event_altered_segment_rewritten_manifest_and_recomputed_chain_fail(
        app, client, factory, world, real_session, tmp_path, capsys) -> None:
    sid = real_session
    stores = app.state.stores
    entries = _chain(factory, sid)
    victim = next(e for e in entries if e["record"].get("id") == "multiple_faces-1")
    seg = [g for g in stores.recordings.list(sid) if g.kind == "video"][1]
    blobs = stores.recordings.blobs
    original = blobs.get(seg.key)
    altered = bytearray(original)
    altered[len(altered) // 2] ^= 0xFF
    altered = bytes(altered)
    new_sha = hashlib.sha256(altered).hexdigest()

    # the attacker: disk (the segment's bytes) and database (manifest, chain, session row), triggers out of the way
    blobs.put(seg.key, altered)
    with attacker(factory) as db:
        db.execute(update(RecordingSegment).where(RecordingSegment.session_id == sid, RecordingSegment.index == 1)
                   .values(sha256=new_sha, bytes=len(altered)))
        records = []
        for e in entries:
            if e["seq"] == victim["seq"]:
                continue
            rec = dict(e["record"])
            if rec.get("type") == "recording_segment" and rec.get("index") == 1:
                rec["sha256"], rec["bytes"] = new_sha, len(altered)
            records.append(rec)
        _recompute(db, sid, records)
    # every check that does not know the signature is fooled
    assert stores.events.verify(sid).ok
    assert stores.recordings.verify_manifest(sid).ok
    view = client.get(f"/api/review/sessions/{sid}", headers=world.h("proctor")).json()["verification"]
    assert view["chain"]["ok"] and view["recording"]["ok"]
    # ... the signature is not: the review says what happened, and the server refuses to sign over it
    assert view["signature"]["ok"] is False
    assert stores.evidence.checkpoint(sid, "periodic") is None

    export = _export(client, world, sid, tmp_path / "tampered.zip")
    assert [c["payload"]["reason"] for c in json.loads(zipfile.ZipFile(export).read("evidence.json"))["checkpoints"]] \
        == ["session_end"]  # the export signed nothing new over the tampered chain
    rc, out = _verify(capsys, export, _server_key(client, tmp_path))
    assert rc == 1, out
    assert "FAILED" in out
    assert f"event seq {victim['seq']} (multiple_faces-1) was removed" in out
    assert f"recording segment 1 altered: sha256 {new_sha} != signed {seg.sha256}" in out
    assert f"the manifest of recording segment 1 was rewritten: sha256 {new_sha} != signed {seg.sha256}" in out
    # exactly these: the removed event, the segment's altered chain record, the segment and its manifest row
    tampered = [line for line in out.splitlines() if "[tampered]" in line]
    assert len(tampered) == 4, out
    assert any("(recording_segment video#1) was altered" in line for line in tampered)


def test_reordered_and_added_events_are_named(app, client, factory, world, real_session, tmp_path, capsys) -> None:
    sid = real_session
    entries = _chain(factory, sid)
    records = [e["record"] for e in entries]
    i = next(n for n, r in enumerate(records) if r.get("id") == "multiple_faces-1")
    j = next(n for n, r in enumerate(records) if r.get("type") == "event" and r.get("id") != "multiple_faces-1")
    moved = records[j]
    reordered = records[:i] + [moved] + [r for n, r in enumerate(records[i:], i) if n != j]
    with attacker(factory) as db:
        _recompute(db, sid, reordered)
    rc, out = _verify(capsys, _export(client, world, sid, tmp_path / "reordered.zip"), _server_key(client, tmp_path))
    assert rc == 1 and f"event seq {j} ({moved['id']}) was reordered: it is now at position {i}" in out, out
    assert "removed" not in out and "added" not in out

    fake = {**records[i], "id": "multiple_faces-9", "start": 1.0, "end": 2.0, "status": "closed"}
    with attacker(factory) as db:
        _recompute(db, sid, records[:i] + [fake] + records[i:])
    rc, out = _verify(capsys, _export(client, world, sid, tmp_path / "added.zip"), _server_key(client, tmp_path))
    assert rc == 1 and f"event seq {i} (multiple_faces-9) was added: no checkpoint signed it" in out, out
    assert "removed" not in out and "reordered" not in out


def test_an_altered_evidence_frame_and_a_wrong_key_fail(app, client, world, real_session, tmp_path, capsys) -> None:
    sid = real_session
    export = _export(client, world, sid, tmp_path / "session.zip")
    other = Ed25519PrivateKey.generate().public_key().public_bytes(serialization.Encoding.Raw,
                                                                    serialization.PublicFormat.Raw)
    rc, out = _verify(capsys, export, base64.b64encode(other).decode())
    assert rc == 1 and "which is not the pinned public key" in out, out
    # an evidence frame replaced inside the export (unpacked: the folder form is checked the same way)
    folder = tmp_path / "unpacked"
    zipfile.ZipFile(export).extractall(folder)
    frame = next((folder / "evidence").glob("multiple_faces-1-*.jpg"))
    frame.write_bytes(frame.read_bytes()[:-10])
    photo_sha = hashlib.sha256(REFERENCE.read_bytes()).hexdigest()
    photo = folder / "enrolment" / f"{photo_sha}.jpg"
    assert photo.read_bytes() == REFERENCE.read_bytes()
    photo.write_bytes((DATA / "faces" / "joe_biden" / "01.jpg").read_bytes())  # someone else's photo
    rc, out = _verify(capsys, folder, _server_key(client, tmp_path))
    assert rc == 1 and f"evidence file {frame.name} (event multiple_faces-1) altered" in out, out
    assert f"enrolment photo {photo_sha[:12]} altered" in out
    # a checkpoint whose payload was edited no longer verifies
    doc = json.loads((folder / "evidence.json").read_text())
    doc["checkpoints"][0]["payload"]["chain"]["count"] += 1
    (folder / "evidence.json").write_text(json.dumps(doc))
    rc, out = _verify(capsys, folder, _server_key(client, tmp_path))
    assert rc == 1 and "checkpoint 0's signature does not verify" in out


def test_entries_after_the_last_checkpoint_are_unsigned_not_tampered(app, client, factory, world, real_session,
                                                                     tmp_path, capsys) -> None:
    sid = real_session
    stores = app.state.stores
    before = len(_chain(factory, sid))
    stores.events.append_many(sid, [{"type": "proctor_message", "t": 9.0 + k, "text": f"note {k}"} for k in range(3)])
    with transaction(factory) as db:  # the export as it stands, without the checkpoint the export route makes
        data = write_zip(collect(db, stores.recordings.blobs, stores.evidence.keyring, sid))
    path = tmp_path / "tail.zip"
    path.write_bytes(data)
    rc, out = _verify(capsys, path, _server_key(client, tmp_path))
    assert rc == 0, out
    assert "VERIFIED (partly)" in out and "[tampered]" not in out
    assert f"3 entries (seq {before}..{before + 2}) were written after the last checkpoint: they are not signed" in out
    # the export route signs them first
    rc, out = _verify(capsys, _export(client, world, sid, tmp_path / "full.zip"), _server_key(client, tmp_path))
    assert rc == 0 and "VERIFIED: everything" in out, out
    with transaction(factory) as db:
        reasons = db.execute(select(EvidenceCheckpoint.reason).where(EvidenceCheckpoint.session_id == sid)
                             .order_by(EvidenceCheckpoint.number)).scalars().all()
    assert reasons == ["session_end", "export"]
    # a session nothing signed (no signer in its store): not tampered with that we can see, but not verified
    _, bare = make_proctoring_session(factory, world, "bob")
    SqlEventStore(factory).append_many(bare, [{"type": "event", "id": "e1", "kind": "speech"}])
    with transaction(factory) as db:
        (tmp_path / "bare.zip").write_bytes(write_zip(collect(db, stores.recordings.blobs, stores.evidence.keyring,
                                                              bare)))
    rc, out = _verify(capsys, tmp_path / "bare.zip", _server_key(client, tmp_path))
    assert rc == 1 and "NOT VERIFIED: nothing in the export is signed" in out and "[tampered]" not in out, out


# ---- when checkpoints are made ------------------------------------------------------------------------------
def test_periodic_checkpoints_every_n_entries_or_after_the_interval(app, factory, world) -> None:
    _, sid = make_proctoring_session(factory, world)
    keyring = app.state.stores.evidence.keyring
    signer = EvidenceSigner(keyring, factory, every=5, interval_s=3600)
    store = SqlEventStore(factory, signer)
    for k in range(12):
        store.append(sid, {"type": "event", "id": f"e{k}", "kind": "speech"})
    with transaction(factory) as db:
        rows = db.execute(select(EvidenceCheckpoint).where(EvidenceCheckpoint.session_id == sid)
                          .order_by(EvidenceCheckpoint.number)).scalars().all()
        assert [(r.number, r.reason, r.through_seq) for r in rows] == [(0, "periodic", 4), (1, "periodic", 9)]
        assert rows[1].payload["prev"] == rows[0].payload_sha256
        # two entries are not signed yet; not due before the interval, due after it
        assert signer.maybe_checkpoint_in(db, sid) is None
        info = signer.maybe_checkpoint_in(db, sid, now=utcnow() + timedelta(seconds=3601))
        assert info is not None and info.through_seq == 11 and info.number == 2
    # the end of the session signs the rest, in the ending transaction
    store.append(sid, {"type": "session_end"})
    app.state.stores.sessions.mark_live(sid, "node")
    app.state.stores.sessions.end(sid)
    with transaction(factory) as db:
        last = db.execute(select(EvidenceCheckpoint).where(EvidenceCheckpoint.session_id == sid)
                          .order_by(EvidenceCheckpoint.number.desc()).limit(1)).scalar_one()
        assert (last.reason, last.through_seq, last.payload["session_status"]) == ("session_end", 12, "ended")
    assert app.state.stores.evidence.checkpoint(sid) is None  # nothing new: nothing signed


# ---- the key -----------------------------------------------------------------------------------------------
def test_key_file_is_private_published_and_rotated(app, client, factory, world, settings, real_session, tmp_path,
                                                    capsys) -> None:
    key_file = settings.resolved_evidence_key_file()
    assert key_file.is_file() and not str(key_file).startswith(str(settings.recordings_dir))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    first = client.get("/api/evidence/keys").json()
    assert len(first["keys"]) == 1 and first["keys"][0]["retired"] is None
    assert first["keys"][0]["algorithm"] == "Ed25519" and first["current"] == first["keys"][0]["key_id"]
    old_pem = _server_key(client, tmp_path)
    spec = client.get("/openapi.json").json()
    assert spec["paths"]["/api/evidence/keys"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] \
        == {"$ref": "#/components/schemas/EvidenceKeys"}
    assert "/api/evidence/sessions/{session_id}/export.zip" in spec["paths"]

    # rotation (what `python -m server.evidence rotate` does); the running server picks the new key up
    from server.evidence.__main__ import main as evidence_main

    os.environ["PROCTOR_SERVER_DATA_DIR"] = str(settings.data_dir)
    try:
        assert evidence_main(["rotate"]) == 0
    finally:
        del os.environ["PROCTOR_SERVER_DATA_DIR"]
    capsys.readouterr()
    second = client.get("/api/evidence/keys").json()
    assert [k["key_id"] for k in second["keys"]][0] == first["current"] and second["current"] != first["current"]
    assert second["keys"][0]["retired"] is not None and second["keys"][1]["retired"] is None
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    app.state.stores.events.append(real_session, {"type": "proctor_message", "t": 20.0, "text": "after rotation"})
    export = _export(client, world, real_session, tmp_path / "rotated.zip")
    doc = json.loads(zipfile.ZipFile(export).read("evidence.json"))
    assert [c["key_id"] for c in doc["checkpoints"]] == [first["current"], second["current"]]
    assert {k["key_id"] for k in doc["keys"]} == {first["current"], second["current"]}
    new_pem = _server_key(client, tmp_path)
    rc, out = _verify(capsys, export, old_pem, new_pem)  # old checkpoints verify with the retired key
    assert rc == 0 and "VERIFIED: everything" in out, out
    rc, out = _verify(capsys, export, new_pem)
    assert rc == 1 and f"checkpoint 0 is signed by key {first['current']}, which is not the pinned public key" in out


def test_a_key_file_others_can_read_is_refused_and_a_configured_key_writes_nothing(tmp_path) -> None:
    ring = Keyring(tmp_path / "keys" / "signing-key.pem")
    key = ring.current()
    assert Keyring(ring.key_file).current().key_id == key.key_id  # the same key after a restart
    os.chmod(ring.key_file, 0o640)
    with pytest.raises(EvidenceKeyError, match="readable by others"):
        Keyring(ring.key_file).current()
    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()).decode()
    configured = Keyring(tmp_path / "unused" / "signing-key.pem", pem)
    assert configured.current().key_id != key.key_id and not configured.key_file.exists()
    with pytest.raises(EvidenceKeyError, match="not an unencrypted PEM private key"):
        Keyring(tmp_path / "x.pem", "not a key").current()


# ---- append-only, below the ORM too --------------------------------------------------------------------------
def test_events_segments_and_checkpoints_are_append_only(app, factory, world, real_session) -> None:
    sid = real_session
    for model in (SessionEvent, RecordingSegment, EvidenceCheckpoint):
        with pytest.raises(AppendOnlyViolation):
            with transaction(factory) as db:
                row = db.execute(select(model).where(model.session_id == sid).limit(1)).scalar_one()
                db.delete(row)
    with pytest.raises(AppendOnlyViolation):
        with transaction(factory) as db:
            db.execute(select(SessionEvent).where(SessionEvent.session_id == sid).limit(1)).scalar_one().hash = "0" * 64
    for table, change in (("session_events", "hash = 'x'"), ("recording_segments", "sha256 = 'x'"),
                          ("evidence_checkpoints", "signature = 'x'")):
        for sql in (f"UPDATE {table} SET {change}", f"DELETE FROM {table}"):
            with pytest.raises(DBAPIError, match="append-only"):
                with transaction(factory) as db:
                    db.execute(text(sql))
    assert app.state.stores.events.verify(sid).ok
    # the attacker's way round the triggers is put back when they are done
    with attacker(factory) as db:
        db.execute(text("UPDATE evidence_checkpoints SET reason = 'export'"))
    with pytest.raises(DBAPIError, match="append-only"):
        with transaction(factory) as db:
            db.execute(text("DELETE FROM evidence_checkpoints"))


def test_export_access(client, world, real_session) -> None:
    url = f"/api/evidence/sessions/{real_session}/export.zip"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=world.h("alice")).status_code == 403
    assert client.get(url, headers=world.h("other_proctor")).status_code == 404
    assert client.get(url, headers=world.h("admin")).status_code == 200
    assert zipfile.is_zipfile(io.BytesIO(client.get(url, headers=world.h("admin")).content))
