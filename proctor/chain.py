"""Hash-chained event log: every entry carries the hash of the one before, so any later change shows.

An entry is ``{"seq", "prev_hash", "record", "hash"}`` where ``hash = sha256(canonical JSON of seq,
prev_hash and record)``. The first entry's ``prev_hash`` is the session's genesis hash (64 zeros unless the
caller anchors the chain to something, e.g. the session id). :func:`verify_chain` recomputes every link.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable

GENESIS = "0" * 64


def canonical_json(value: Any) -> bytes:
    """Stable bytes for hashing: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def entry_hash(seq: int, prev_hash: str, record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json({"seq": seq, "prev_hash": prev_hash, "record": record})).hexdigest()


def genesis_for(session_id: str | None) -> str:
    """The first prev_hash of a session's chain: anchors the chain to its session."""
    return GENESIS if not session_id else hashlib.sha256(f"proctor-session:{session_id}".encode()).hexdigest()


def make_entry(prev: dict[str, Any] | None, record: dict[str, Any], genesis: str = GENESIS) -> dict[str, Any]:
    """The entry that follows ``prev`` (``None`` for the first) and holds ``record``."""
    seq = 0 if prev is None else prev["seq"] + 1
    prev_hash = genesis if prev is None else prev["hash"]
    # round-trip so the stored record is exactly what was hashed (tuples become lists, etc.)
    record = json.loads(canonical_json(record))
    return {"seq": seq, "prev_hash": prev_hash, "record": record, "hash": entry_hash(seq, prev_hash, record)}


class EventChain:
    """An append-only chain held in memory; the server persists each entry as it is made."""

    def __init__(self, genesis: str = GENESIS, entries: Iterable[dict[str, Any]] = ()):
        self.genesis = genesis
        self.entries: list[dict[str, Any]] = list(entries)

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        entry = make_entry(self.entries[-1] if self.entries else None, record, self.genesis)
        self.entries.append(entry)
        return entry

    def to_dict(self) -> dict[str, Any]:
        return {"genesis": self.genesis, "entries": self.entries}


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "first_bad_seq": self.first_bad_seq, "reason": self.reason}


def verify_chain(entries: Iterable[dict[str, Any]], genesis: str = GENESIS) -> ChainVerification:
    """Recompute every link; report the first entry that was altered, removed, reordered or inserted."""
    prev_hash = genesis
    count = 0
    for n, entry in enumerate(entries):
        try:
            seq, ph, record, h = entry["seq"], entry["prev_hash"], entry["record"], entry["hash"]
        except (KeyError, TypeError):
            return ChainVerification(False, n, n, f"entry {n} is not a chain entry")
        if seq != n:
            return ChainVerification(False, n, n, f"entry {n} has seq {seq}: an entry was removed or reordered")
        if ph != prev_hash:
            return ChainVerification(False, n, n, f"entry {n} does not link to the entry before it")
        if entry_hash(seq, ph, record) != h:
            return ChainVerification(False, n, n, f"entry {n} was altered after it was written")
        prev_hash = h
        count = n + 1
    return ChainVerification(True, count)
