"""A session's evidence export: ``evidence.json`` (the chain, the recording manifest, the signed checkpoints,
the public keys) and the files it names (recording segments, evidence frames, the signal series, enrolment
photos), as a ZIP that ``proctor verify`` checks offline. The same collection, read straight from the
store, gives the review's signature status (:func:`signature_status`)."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from proctor.chain import genesis_for
from proctor.verify import EXPORT_DOC, EXPORT_FORMAT, Export, photo_hashes, public_pem, public_raw, verify_export
from server.db.models import IdentityEnrolment, ProctoringSession, RecordingSegment
from server.evidence.keys import Keyring
from server.evidence.signing import checkpoint_dict, checkpoints_in
from server.storage.events import list_in


@dataclass
class Collected:
    doc: dict[str, Any]
    files: dict[str, Callable[[], bytes | None]] = field(default_factory=dict)  # export path -> loader

    def read(self, name: str) -> bytes | None:
        loader = self.files.get(name)
        return loader() if loader is not None else None

    def as_export(self) -> Export:
        return Export(self.doc, self.read, f"session {self.doc['session_id']}")


def _plain_name(name: Any) -> str | None:
    if not isinstance(name, str):
        return None
    p = PurePosixPath(name)
    return name if len(p.parts) == 1 and name not in (".", "..") and name else None


def _loader(blobs: Any, key: str) -> Callable[[], bytes | None]:
    def load() -> bytes | None:
        try:
            return blobs.get(key) if blobs.exists(key) else None
        except Exception:  # noqa: BLE001 - a bad key: the file is missing from the export
            return None

    return load


def keys_for(keyring: Keyring, checkpoints: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The public keys that signed these checkpoints (from the server's list, else from the checkpoint row),
    and the current key."""
    known = {k.key_id: k.to_dict() for k in keyring.public_keys()}
    out: dict[str, dict[str, Any]] = {}
    for cp in checkpoints:
        kid = cp["key_id"]
        if kid in known:
            out[kid] = known[kid]
        elif kid not in out:
            raw = public_raw(cp["public_key"])
            out[kid] = {"key_id": kid, "algorithm": "Ed25519", "public_key": cp["public_key"],
                        "public_key_pem": public_pem(raw), "created": None, "retired": None}
    current = keyring.current().key_id
    out.setdefault(current, known[current])
    return list(out.values())


def collect(db: Session, blobs: Any, keyring: Keyring, session_id: str) -> Collected:
    sess = db.get(ProctoringSession, session_id)
    if sess is None:
        raise KeyError(session_id)
    entries = list_in(db, session_id)
    checkpoints = [checkpoint_dict(c) for c in checkpoints_in(db, session_id)]
    out = Collected({})
    manifest = []
    for r in db.execute(select(RecordingSegment).where(RecordingSegment.session_id == session_id)
                        .order_by(RecordingSegment.kind, RecordingSegment.index)).scalars():
        ext = PurePosixPath(r.key).suffix or ".bin"
        path = f"recording/{r.kind}-{r.index:06d}{ext}"
        manifest.append({"kind": r.kind, "index": r.index, "key": r.key, "sha256": r.sha256, "bytes": r.bytes,
                         "t_start": r.t_start, "t_end": r.t_end, "file": path})
        out.files[path] = _loader(blobs, r.key)
    photos: set[str] = set()
    for e in entries:
        rec = e["record"]
        if not isinstance(rec, dict):
            continue
        if rec.get("type") == "event":
            for f in (rec.get("evidence") or {}).get("frames") or []:
                name = _plain_name(f.get("name") if isinstance(f, dict) else None)
                if name:
                    out.files[f"evidence/{name}"] = _loader(blobs, f"{session_id}/evidence/{name}")
        elif rec.get("type") == "signal_series" and isinstance(rec.get("key"), str):
            out.files["signals.json"] = _loader(blobs, rec["key"])
        photos.update(photo_hashes(rec))
    if sess.enrolment_id:
        enrol = db.get(IdentityEnrolment, sess.enrolment_id)
        photos.update(enrol.photo_sha256s or [] if enrol else [])
    for h in sorted(photos):
        if len(h) == 64 and all(c in "0123456789abcdef" for c in h):
            out.files[f"enrolment/{h}.jpg"] = _loader(blobs, f"{session_id}/enrolment/{h}.jpg")
    out.doc = {
        "format": EXPORT_FORMAT,
        "session_id": session_id,
        "attempt_id": sess.attempt_id,
        "status": sess.status,
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "chain": {"genesis": genesis_for(session_id), "entries": entries},
        "manifest": manifest,
        "checkpoints": checkpoints,
        "keys": keys_for(keyring, checkpoints),
        "enrolment_photos": sorted(photos),
    }
    return out


def write_zip(collected: Collected, extra: dict[str, bytes] | None = None) -> bytes:
    """The export as a ZIP (stored, not compressed: the media are compressed already)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(EXPORT_DOC, json.dumps(collected.doc, indent=1, ensure_ascii=False))
        for name in sorted(collected.files):
            data = collected.read(name)
            if data is not None:
                zf.writestr(name, data)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def signature_status(db: Session, blobs: Any, keyring: Keyring, session_id: str) -> dict[str, Any]:
    """The offline verification run on the store itself, with the server's own public keys pinned."""
    collected = collect(db, blobs, keyring, session_id)
    pinned = [k.public_key for k in keyring.public_keys()]  # the server's own list, never a key from the database
    result = verify_export(collected.as_export(), public_keys=pinned).to_dict()
    result["keys"] = collected.doc["keys"]
    return result
