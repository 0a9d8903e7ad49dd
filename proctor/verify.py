"""Signed evidence: the checkpoint format and the offline verification of an exported session.

A **checkpoint** is a JSON payload signed with the server's Ed25519 key. It covers, at the moment it was made:

* the chain head (``seq``, ``hash``, ``count``) and the genesis of the session's chain;
* every chain entry written since the previous checkpoint, as ``[seq, sha256 of the record, label, type]``: the
  record digest does not depend on the entry's position, so a verifier can tell an entry that was *removed*
  from one that was *altered*, *added* or *reordered*, even after the whole chain was recomputed;
* every recording segment stored since the previous checkpoint (``kind, index, key, sha256, bytes``) and the
  sha256 of the whole manifest at that point;
* the previous checkpoint's payload hash (checkpoints form their own chain), the key id, the reason.

An **export** is a directory or a ZIP holding ``evidence.json`` (the chain, the manifest, the checkpoints and the
public keys), the recording segments, the evidence frames, the enrolment photos and the signal series.
:func:`verify_export` checks all of it against the signed checkpoints and names what differs. This module is
pure (no server import) so ``proctor verify`` runs anywhere.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable

from proctor.chain import canonical_json, genesis_for, verify_chain

CHECKPOINT_FORMAT = "proctor-checkpoint/1"
EXPORT_FORMAT = "proctor-evidence-export/1"
ALGORITHM = "Ed25519"
EXPORT_DOC = "evidence.json"
LABEL_MAX = 80


# ---- what a checkpoint holds -----------------------------------------------------------------------------
def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_digest(record: Any) -> str:
    """sha256 of the record alone (not of its position in the chain)."""
    return sha256_hex(canonical_json(record))


def entry_label(record: Any) -> str:
    """A short name for a chain record, for messages: the event's id, the segment's kind and index, the type."""
    if not isinstance(record, dict):
        return "record"
    kind = str(record.get("type") or record.get("kind") or "record")
    if kind == "event" and record.get("id") is not None:
        label = str(record["id"])
    elif kind == "recording_segment":
        label = f"recording_segment {record.get('kind', 'video')}#{record.get('index')}"
    else:
        label = kind
    return label[:LABEL_MAX]


def entry_type(record: Any) -> str:
    return str(record.get("type") or "record")[:LABEL_MAX] if isinstance(record, dict) else "record"


def photo_hashes(record: Any) -> list[str]:
    """The sha256s of the enrolment photos a chain record names (``photo_sha256s``, ``photos`` or
    ``enrolment.photos``, as strings or ``{"sha256": ...}``)."""
    if not isinstance(record, dict):
        return []
    found: list[Any] = list(record.get("photo_sha256s") or [])
    found += list(record.get("photos") or []) if isinstance(record.get("photos"), list) else []
    enrolment = record.get("enrolment")
    if isinstance(enrolment, dict) and isinstance(enrolment.get("photos"), list):
        found += enrolment["photos"]
    out = []
    for item in found:
        h = item.get("sha256") if isinstance(item, dict) else item
        if isinstance(h, str) and len(h) == 64 and all(c in "0123456789abcdef" for c in h) and h not in out:
            out.append(h)
    return out


def segment_item(seg: dict[str, Any]) -> dict[str, Any]:
    """The signed fields of one manifest row."""
    return {"kind": str(seg["kind"]), "index": int(seg["index"]), "key": str(seg["key"]),
            "sha256": str(seg["sha256"]), "bytes": int(seg["bytes"])}


def manifest_digest(segments: Iterable[dict[str, Any]]) -> str:
    items = sorted((segment_item(s) for s in segments), key=lambda s: (s["kind"], s["index"]))
    return sha256_hex(canonical_json(items))


def payload_hash(payload: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(payload))


def build_payload(*, session_id: str, number: int, prev: str | None, reason: str, created_at: str, key_id: str,
                  session_status: str | None, new_entries: list[dict[str, Any]], head: dict[str, Any] | None,
                  count: int, new_segments: list[dict[str, Any]], all_segments: list[dict[str, Any]]) -> dict[str, Any]:
    """The payload of checkpoint ``number`` (``new_entries``/``new_segments``: what the previous one did not cover)."""
    return {
        "format": CHECKPOINT_FORMAT,
        "session_id": session_id,
        "number": number,
        "prev": prev,
        "reason": reason,
        "created_at": created_at,
        "key_id": key_id,
        "session_status": session_status,
        "chain": {"genesis": genesis_for(session_id), "count": count,
                  "seq": head["seq"] if head else -1, "hash": head["hash"] if head else None},
        "entries": [[e["seq"], record_digest(e["record"]), entry_label(e["record"]), entry_type(e["record"])]
                    for e in new_entries],
        "segments": sorted((segment_item(s) for s in new_segments), key=lambda s: (s["kind"], s["index"])),
        "manifest": {"count": len(all_segments), "sha256": manifest_digest(all_segments)},
    }


# ---- keys ----------------------------------------------------------------------------------------------
def _crypto():  # imported lazily: `proctor analyze` never needs it
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return InvalidSignature, serialization, Ed25519PublicKey


class KeyError_(ValueError):
    """A public key that cannot be read."""


def public_raw(text: str | bytes) -> bytes:
    """The 32 raw bytes of an Ed25519 public key given as PEM, as base64 of the raw key, or as 64 hex digits."""
    _, serialization, Ed25519PublicKey = _crypto()
    data = text.encode() if isinstance(text, str) else text
    stripped = data.strip()
    if stripped.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(stripped)
        except ValueError as exc:
            raise KeyError_(f"not a PEM public key: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise KeyError_("the PEM key is not an Ed25519 public key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    s = stripped.decode(errors="replace")
    if len(s) == 64 and all(c in "0123456789abcdefABCDEF" for c in s):
        return bytes.fromhex(s)
    try:
        raw = base64.b64decode(s, validate=True)
    except ValueError as exc:
        raise KeyError_("a public key is PEM, base64 of its 32 bytes, or 64 hex digits") from exc
    if len(raw) != 32:
        raise KeyError_(f"an Ed25519 public key has 32 bytes, this one {len(raw)}")
    return raw


def key_id_for(raw: bytes) -> str:
    """The key id: the first 16 hex digits of the sha256 of the raw public key."""
    return sha256_hex(raw)[:16]


def public_pem(raw: bytes) -> str:
    _, serialization, Ed25519PublicKey = _crypto()
    return Ed25519PublicKey.from_public_bytes(raw).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def signature_ok(raw_public: bytes, payload: dict[str, Any], signature_b64: str) -> bool:
    InvalidSignature, _, Ed25519PublicKey = _crypto()
    try:
        sig = base64.b64decode(signature_b64, validate=True)
        Ed25519PublicKey.from_public_bytes(raw_public).verify(sig, canonical_json(payload))
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


# ---- reading an export -----------------------------------------------------------------------------------
class ExportError(ValueError):
    """The export cannot be read at all (not a directory or ZIP with an evidence.json)."""


@dataclass
class Export:
    doc: dict[str, Any]
    read: Callable[[str], bytes | None]  # a file of the export by its relative path, None if absent
    source: str = ""


def _safe(name: str) -> str | None:
    p = PurePosixPath(name)
    if p.is_absolute() or not p.parts or any(part in ("", ".", "..") for part in p.parts):
        return None
    return str(p)


def load_export(path: Path | str) -> Export:
    path = Path(path)
    if path.is_dir():
        root = path

        def read_dir(name: str) -> bytes | None:
            rel = _safe(name)
            f = root / rel if rel else None
            return f.read_bytes() if f is not None and f.is_file() else None

        reader = read_dir
    elif zipfile.is_zipfile(path):
        zf = zipfile.ZipFile(path)
        names = set(zf.namelist())

        def read_zip(name: str) -> bytes | None:
            rel = _safe(name)
            return zf.read(rel) if rel in names else None

        reader = read_zip
    elif path.exists():
        raise ExportError(f"{path}: not a ZIP or a directory (export a session with its evidence: "
                          "GET /api/evidence/sessions/<id>/export.zip)")
    else:
        raise ExportError(f"{path}: no such file or directory")
    raw = reader(EXPORT_DOC)
    if raw is None:
        raise ExportError(f"{path}: no {EXPORT_DOC} in it")
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise ExportError(f"{path}: {EXPORT_DOC} is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise ExportError(f"{path}: {EXPORT_DOC} is not a {EXPORT_FORMAT} document")
    return Export(doc, reader, str(path))


# ---- the verification ------------------------------------------------------------------------------------
TAMPERED, UNSIGNED, WARNING, INFO = "tampered", "unsigned", "warning", "info"


@dataclass(frozen=True)
class Finding:
    level: str  # tampered (verification fails), unsigned (not covered by a signature), warning, info
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"level": self.level, "message": self.message}


@dataclass
class Verification:
    session_id: str
    findings: list[Finding] = field(default_factory=list)
    key_pinned: bool = False
    key_ids: list[str] = field(default_factory=list)
    checkpoints: int = 0
    signed_entries: int = 0
    entries: int = 0
    segments: int = 0
    evidence_files: int = 0

    @property
    def ok(self) -> bool:
        return not any(f.level == TAMPERED for f in self.findings)

    @property
    def complete(self) -> bool:
        """Everything in the export is covered by a valid signature."""
        return self.ok and not any(f.level == UNSIGNED for f in self.findings)

    @property
    def status(self) -> str:
        if not self.ok:
            return "failed"
        if self.checkpoints == 0 and (self.entries or self.segments):
            return "unsigned"  # nothing tampered with that we can see, but nothing signed either
        return "verified" if self.complete else "verified_with_unsigned"

    @property
    def verified(self) -> bool:
        return self.status in ("verified", "verified_with_unsigned")

    def add(self, level: str, message: str) -> None:
        self.findings.append(Finding(level, message))

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "complete": self.complete, "status": self.status, "verified": self.verified, "session_id": self.session_id,
                "key_pinned": self.key_pinned, "key_ids": self.key_ids, "checkpoints": self.checkpoints,
                "signed_entries": self.signed_entries, "entries": self.entries, "segments": self.segments,
                "evidence_files": self.evidence_files, "findings": [f.to_dict() for f in self.findings]}


def _seg_name(kind: str, index: int) -> str:
    return f"recording segment {index}" if kind == "video" else f"recording segment {kind}#{index}"


def _entry_desc(seq: int, label: str, kind: str) -> str:
    return f"{'event' if kind == 'event' else 'entry'} seq {seq} ({label})"


def check_checkpoints(session_id: str, checkpoints: list[dict[str, Any]], trusted: dict[str, bytes],
                      out: Verification) -> list[dict[str, Any]]:
    """The payloads whose signature verifies with a trusted key and that link to the one before, in order."""
    good: list[dict[str, Any]] = []
    prev_hash: str | None = None
    count = 0
    for n, cp in enumerate(sorted(checkpoints, key=lambda c: (c.get("payload") or {}).get("number", -1))):
        payload = cp.get("payload") if isinstance(cp, dict) else None
        if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
            out.add(TAMPERED, f"checkpoint {n} is not a {CHECKPOINT_FORMAT} payload")
            break
        number = payload.get("number")
        if number != n:
            out.add(TAMPERED, f"checkpoint {n} is missing (the next one is number {number}): checkpoints were removed")
            break
        key_id = payload.get("key_id")
        if key_id not in trusted:
            out.add(TAMPERED, f"checkpoint {n} is signed by key {key_id}, which is not "
                              f"{'the pinned public key' if out.key_pinned else 'one of the export keys'} "
                              f"({', '.join(sorted(trusted)) or 'none'})")
            break
        if not signature_ok(trusted[key_id], payload, str(cp.get("signature", ""))):
            out.add(TAMPERED, f"checkpoint {n}'s signature does not verify with key {key_id}: "
                              "the checkpoint was altered or forged")
            break
        if payload.get("session_id") != session_id:
            out.add(TAMPERED, f"checkpoint {n} is for session {payload.get('session_id')}, not {session_id}")
            break
        if payload.get("prev") != prev_hash:
            out.add(TAMPERED, f"checkpoint {n} does not link to checkpoint {n - 1}")
            break
        entries = payload.get("entries") or []
        if entries and entries[0][0] != count:
            out.add(TAMPERED, f"checkpoint {n} starts at seq {entries[0][0]}, the one before ended at {count - 1}")
            break
        count += len(entries)
        if payload["chain"]["count"] != count:
            out.add(TAMPERED, f"checkpoint {n} says the chain held {payload['chain']['count']} entries, "
                              f"its entries add up to {count}")
            break
        good.append(payload)
        prev_hash = payload_hash(payload)
    return good


def _compare_entries(signed: list[list[Any]], entries: list[dict[str, Any]], out: Verification) -> None:
    """Align the signed record digests with the export's and name what was removed, altered, added, moved."""
    a = [s[1] for s in signed]
    b = [record_digest(e.get("record")) if isinstance(e, dict) else "" for e in entries]
    rec_b = [e.get("record") if isinstance(e, dict) else None for e in entries]
    blocks: list[tuple[list[int], list[int], bool]] = []  # (unmatched signed indexes, export positions, at end)
    tail: list[int] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if i1 == i2 == len(a):  # only new entries after everything the checkpoints cover
            tail.extend(range(j1, j2))
            continue
        blocks.append((list(range(i1, i2)), list(range(j1, j2)), i2 == len(a)))
    # an entry missing in one place and present in another was moved
    lost: dict[str, list[int]] = {}
    for ia, _, _ in blocks:
        for i in ia:
            lost.setdefault(a[i], []).append(i)
    moved_a: set[int] = set()
    moved_b: set[int] = set()
    for _, jb, _ in blocks:
        for j in jb:
            if lost.get(b[j]):
                i = lost[b[j]].pop(0)
                moved_a.add(i)
                moved_b.add(j)
                seq, _d, label, kind = (list(signed[i]) + ["record"])[:4]
                out.add(TAMPERED, f"{_entry_desc(seq, label, kind)} was reordered: it is now at position {j}")
    for ia, jb, at_end in blocks:
        ia = [i for i in ia if i not in moved_a]
        jb = [j for j in jb if j not in moved_b]
        for k, i in enumerate(ia):
            seq, _d, label, kind = (list(signed[i]) + ["record"])[:4]
            if k < len(jb):
                now = entry_label(rec_b[jb[k]])
                out.add(TAMPERED, f"{_entry_desc(seq, label, kind)} was altered"
                                  + (f" (it is now {now})" if now != label else ""))
            else:
                out.add(TAMPERED, f"{_entry_desc(seq, label, kind)} was removed")
        for j in jb[len(ia):]:
            if at_end:  # after the last signed entry: written after the last checkpoint
                tail.append(j)
                continue
            out.add(TAMPERED, f"{_entry_desc(j, entry_label(rec_b[j]), entry_type(rec_b[j]))} was added: "
                              "no checkpoint signed it")
    if tail:
        tail.sort()
        out.add(UNSIGNED, f"{len(tail)} entries (seq {tail[0]}..{tail[-1]}) were written after the last "
                          "checkpoint: they are not signed")


def _compare_segments(export: Export, signed: dict[tuple[str, int], dict[str, Any]], out: Verification) -> None:
    manifest = {(str(m.get("kind")), int(m.get("index", -1))): m for m in export.doc.get("manifest") or []}
    for (kind, index), s in sorted(signed.items()):
        name = _seg_name(kind, index)
        m = manifest.get((kind, index))
        if m is None:
            out.add(TAMPERED, f"{name} was removed (signed sha256 {s['sha256']})")
            continue
        if m.get("sha256") != s["sha256"] or int(m.get("bytes", -1)) != s["bytes"] or m.get("key") != s["key"]:
            out.add(TAMPERED, f"the manifest of {name} was rewritten: sha256 {m.get('sha256')} != signed "
                              f"{s['sha256']}")
        data = export.read(str(m.get("file") or ""))
        if data is None:
            out.add(TAMPERED, f"{name} is missing from the export (signed sha256 {s['sha256']})")
            continue
        digest = sha256_hex(data)
        if digest != s["sha256"] or len(data) != s["bytes"]:
            out.add(TAMPERED, f"{name} altered: sha256 {digest} != signed {s['sha256']}"
                              + (f" ({len(data)} bytes, signed {s['bytes']})" if len(data) != s["bytes"] else ""))
    signed_max: dict[str, int] = {}
    for kind, index in signed:
        signed_max[kind] = max(signed_max.get(kind, -1), index)
    for (kind, index), m in sorted(manifest.items()):
        if (kind, index) in signed:
            continue
        name = _seg_name(kind, index)
        data = export.read(str(m.get("file") or ""))
        if data is None or sha256_hex(data) != m.get("sha256"):
            out.add(TAMPERED, f"{name} does not match its (unsigned) manifest entry")
        if index > signed_max.get(kind, -1):
            out.add(UNSIGNED, f"{name} was stored after the last checkpoint: it is not signed")
        else:
            out.add(TAMPERED, f"{name} was added: no checkpoint signed it")


def _check_files(export: Export, entries: list[dict[str, Any]], out: Verification) -> None:
    """Evidence frames, the signal series and enrolment photos against the hashes the chain records hold."""
    named: set[str] = set()
    for e in entries:
        rec = e.get("record") if isinstance(e, dict) else None
        if not isinstance(rec, dict):
            continue
        files: list[tuple[str, str, str]] = []  # (path in export, sha256, what)
        if rec.get("type") == "event":
            for f in (rec.get("evidence") or {}).get("frames") or []:
                if isinstance(f, dict) and f.get("name") and f.get("sha256"):
                    files.append((f"evidence/{f['name']}", f["sha256"],
                                  f"evidence file {f['name']} (event {rec.get('id')})"))
        elif rec.get("type") == "signal_series" and rec.get("sha256"):
            files.append(("signals.json", rec["sha256"], "the signal series"))
        for h in photo_hashes(rec):
            named.add(h)
            files.append((f"enrolment/{h}.jpg", h, f"enrolment photo {h[:12]}"))
        for path, want, what in files:
            data = export.read(path)
            out.evidence_files += 1
            if data is None:
                out.add(TAMPERED, f"{what} is missing from the export (chain entry {e.get('seq')})")
            elif sha256_hex(data) != want:
                out.add(TAMPERED, f"{what} altered: sha256 {sha256_hex(data)} != signed {want} "
                                  f"(chain entry {e.get('seq')})")
    for h in export.doc.get("enrolment_photos") or []:
        if h not in named and export.read(f"enrolment/{h}.jpg") is not None:
            out.add(UNSIGNED, f"enrolment photo {str(h)[:12]} is in the export but no chain record names it: "
                              "the signature does not cover it")


def verify_export(export: Export, public_keys: Iterable[str | bytes] | None = None) -> Verification:
    """Check an export offline. ``public_keys`` pins the key(s) (PEM, base64 or hex); without them the keys
    printed in the export are used and the result says the key was not pinned."""
    doc = export.doc
    sid = str(doc.get("session_id") or "")
    out = Verification(sid)
    keys = {k.get("key_id"): k for k in doc.get("keys") or [] if isinstance(k, dict)}
    trusted: dict[str, bytes] = {}
    if public_keys is not None:
        for text in public_keys:
            raw = public_raw(text)
            trusted[key_id_for(raw)] = raw
        out.key_pinned = True
    else:
        for kid, k in keys.items():
            try:
                raw = public_raw(str(k.get("public_key", "")))
            except KeyError_:
                out.add(WARNING, f"the export's key {kid} cannot be read")
                continue
            if key_id_for(raw) != kid:
                out.add(WARNING, f"the export's key {kid} does not match its id")
                continue
            trusted[kid] = raw
        out.add(WARNING, "the public key was not pinned: the key printed in the export was used, so this shows the "
                         "export is consistent, not that the server you trust signed it (use --public-key)")
    out.key_ids = sorted(trusted)

    # the chain itself
    entries = (doc.get("chain") or {}).get("entries") or []
    out.entries = len(entries)
    genesis = (doc.get("chain") or {}).get("genesis")
    if genesis != genesis_for(sid):
        out.add(TAMPERED, "the chain's genesis is not this session's")
    chain = verify_chain(entries, genesis_for(sid))
    if not chain.ok:
        out.add(TAMPERED, f"the hash chain is broken: {chain.reason}")

    # the checkpoints
    checkpoints = [c for c in doc.get("checkpoints") or [] if isinstance(c, dict)]
    payloads = check_checkpoints(sid, checkpoints, trusted, out)
    out.checkpoints = len(payloads)
    if not payloads:
        out.add(UNSIGNED if not checkpoints else TAMPERED,
                "no checkpoint could be verified: nothing in this export is signed" if checkpoints
                else "the export holds no checkpoint: nothing in it is signed")
    signed = [s for p in payloads for s in p.get("entries") or []]
    out.signed_entries = len(signed)
    before = len(out.findings)
    _compare_entries(signed, entries, out)
    named = any(f.level == TAMPERED for f in out.findings[before:])
    if payloads and not named:  # every record is where it was signed: the links must be the signed ones too
        head = payloads[-1]["chain"]
        if chain.ok and len(entries) >= head["count"] > 0 and entries[head["count"] - 1].get("hash") != head["hash"]:
            out.add(TAMPERED, f"the chain entry at seq {head['seq']} does not have the signed head hash "
                              f"{head['hash']}: the chain was recomputed")

    # the recording: every signed segment, the manifest as signed
    signed_segments: dict[tuple[str, int], dict[str, Any]] = {}
    for p in payloads:
        for s in p.get("segments") or []:
            signed_segments[(s["kind"], s["index"])] = s
        if manifest_digest(signed_segments.values()) != p["manifest"]["sha256"]:
            out.add(TAMPERED, f"checkpoint {p['number']}'s segments do not add up to its signed manifest")
    out.segments = len(doc.get("manifest") or [])
    _compare_segments(export, signed_segments, out)
    _check_files(export, entries, out)

    if payloads:
        last = payloads[-1]
        ends = [n for n, e in enumerate(entries) if isinstance(e, dict) and isinstance(e.get("record"), dict)
                and e["record"].get("type") == "session_end"]
        if ends and ends[-1] >= last["chain"]["count"]:
            out.add(UNSIGNED, f"the session's end is not covered by a checkpoint (the last one, #{last['number']}, "
                              f"covers seq 0..{last['chain']['seq']}): the checkpoint made when it ended is missing")
        out.add(INFO, f"checkpoint {last['number']} ({last['reason']}, {last['created_at']}, key {last['key_id']}) "
                      f"covers seq 0..{last['chain']['seq']} and {last['manifest']['count']} recording segments")
    return out


def report_lines(v: Verification) -> list[str]:
    head = {"verified": "VERIFIED: everything in the export is covered by a valid signature",
            "verified_with_unsigned": "VERIFIED (partly): what is signed is intact; some entries are not signed",
            "unsigned": "NOT VERIFIED: nothing in the export is signed",
            "failed": "FAILED: the export differs from what the server signed"}[v.status]
    lines = [f"session {v.session_id}: {head}",
             f"  {v.entries} chain entries ({v.signed_entries} signed), {v.checkpoints} checkpoints, "
             f"{v.segments} recording segments, {v.evidence_files} evidence files checked; key "
             f"{', '.join(v.key_ids) or 'none'} ({'pinned' if v.key_pinned else 'NOT pinned'})"]
    order = {TAMPERED: 0, UNSIGNED: 1, WARNING: 2, INFO: 3}
    for f in sorted(v.findings, key=lambda f: order.get(f.level, 9)):
        lines.append(f"  [{f.level}] {f.message}")
    return lines
