"""Never lose a blob while the object store is away: :class:`SpooledBlobStore` wraps the remote store
(:class:`~server.storage.s3.S3BlobStore`) with a spool directory on local disk.

* ``put`` uploads at once while the store answers. When it cannot be reached (:class:`StoreUnavailable`), or
  refuses the upload (wrong credentials, no such bucket: logged as an error), the blob is written durably to the spool instead (temporary file, fsync, rename, fsync of the directory) and
  ``put`` returns: the caller may then record it as stored (the bytes are on disk, their sha256 in the entry).
* A background uploader thread sends the spooled entries in the order they were spooled, retrying with
  exponential backoff (``retry_base_s * 2**(n-1)``, capped at ``retry_max_s``); each entry's sha256 is checked
  before it goes (an entry whose bytes no longer match is moved to ``corrupt/`` and logged, never uploaded).
* Order: while a session (the key's first part) has entries in the spool, its new blobs join the spool behind
  them, so the store receives each session's blobs in order; while the store is down every put goes to the spool
  at once (no waiting for a time-out per blob).
* Reads (``get``/``exists``) of a blob still in the spool are served from the spool; a delete of a spooled blob is
  spooled too (a tombstone, applied in order).
* On start the spool left by the previous run is loaded and drained first. One process owns a spool directory
  (an ``flock``): a second one on the same directory is refused with a clear error.
* A full disk under the spool raises :class:`StorageFull` and nothing is kept.

What a spool does not do: blobs waiting in one node's spool are not visible to the other nodes until uploaded,
and a node whose disk is lost loses its spool.
"""

from __future__ import annotations

import collections
import fcntl
import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.storage.blobs import BlobStore, StorageError, StoreUnavailable, check_key, write_durably

log = logging.getLogger("server.storage.spool")

_STRIPES = 64


class SpoolBusy(StorageError):
    """Another process owns this spool directory."""


@dataclass(frozen=True)
class SpoolEntry:
    seq: int
    op: str  # "put" | "delete"
    key: str
    sha256: str | None
    size: int
    path: Path

    @property
    def prefix(self) -> str:
        return self.key.split("/", 1)[0]


def _read_entry_file(path: Path) -> tuple[dict[str, Any], bytes]:
    raw = path.read_bytes()
    head, sep, data = raw.partition(b"\n")
    if not sep:
        raise ValueError("no header line")
    return json.loads(head), data


class SpooledBlobStore:
    def __init__(self, remote: BlobStore, spool_dir: Path | str, *, retry_base_s: float = 0.5,
                 retry_max_s: float = 30.0, start: bool = True):
        self.remote = remote
        self.dir = Path(spool_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.retry_base_s, self.retry_max_s = retry_base_s, retry_max_s
        self._lock_fh = open(self.dir / ".lock", "a+")
        try:
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock_fh.close()
            raise SpoolBusy(f"the blob spool {self.dir} is used by another process; give each process its own "
                            "(PROCTOR_SERVER_BLOB_SPOOL_DIR)") from exc
        self._mu = threading.Lock()
        self._write_mu = threading.Lock()
        self._changed = threading.Condition(self._mu)
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]
        self._queue: collections.deque[SpoolEntry] = collections.deque()
        self._latest: dict[str, SpoolEntry] = {}  # key -> its newest spooled operation
        self._pending: collections.Counter[str] = collections.Counter()  # session prefix -> spooled entries
        self._seq = 0
        self._remote_down = False
        self._stop = threading.Event()
        self.uploaded = 0  # entries sent since start (for logs and tests)
        self.failures = 0  # failed upload attempts since start
        self._load()
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    # --- the spool on disk -----------------------------------------------------------------------------------
    def _load(self) -> None:
        for stray in self.dir.glob(".part-*"):  # a write interrupted by a crash: never acknowledged to anyone
            stray.unlink(missing_ok=True)
        entries = []
        for path in self.dir.glob("*.blob"):
            try:
                seq = int(path.stem)
                head, data = _read_entry_file(path)
                entries.append(SpoolEntry(seq, head["op"], head["key"], head.get("sha256"), len(data), path))
            except (ValueError, KeyError, OSError) as exc:
                self._quarantine(path, f"unreadable spool entry: {exc}")
        entries.sort(key=lambda e: e.seq)
        for e in entries:
            self._add(e)
        self._seq = entries[-1].seq if entries else 0
        self._remote_down = bool(entries)  # drain what the last run left before anything goes straight up
        if entries:
            log.warning("blob spool: %d entries left from the last run, uploading them first", len(entries),
                        extra={"spool": str(self.dir), "entries": len(entries)})

    def _add(self, e: SpoolEntry) -> None:  # with self._mu held (or before the thread starts)
        self._queue.append(e)
        self._latest[e.key] = e
        self._pending[e.prefix] += 1

    def _spool(self, op: str, key: str, data: bytes) -> SpoolEntry:
        digest = hashlib.sha256(data).hexdigest() if op == "put" else None
        head = json.dumps({"op": op, "key": key, "sha256": digest, "bytes": len(data)}).encode() + b"\n"
        with self._write_mu:  # one spool write at a time: the queue's order is the order of the files' numbers
            seq = self._seq + 1
            path = self.dir / f"{seq:016d}.blob"
            write_durably(path, [head, data])  # raises StorageFull with nothing left behind
            entry = SpoolEntry(seq, op, key, digest, len(data), path)
            with self._changed:
                self._seq = seq
                self._add(entry)
                self._changed.notify_all()
        log.info("blob spooled", extra={"key": key, "op": op, "bytes": len(data), "seq": seq})
        return entry

    def _quarantine(self, path: Path, why: str) -> None:
        bad = self.dir / "corrupt"
        bad.mkdir(exist_ok=True)
        try:
            os.replace(path, bad / path.name)
        except OSError:
            pass
        log.error("blob spool: %s; moved to %s", why, bad, extra={"entry": path.name})

    def _stripe(self, key: str) -> threading.Lock:
        return self._stripes[hash(key.split("/", 1)[0]) % _STRIPES]

    # --- BlobStore ---------------------------------------------------------------------------------------------
    def put(self, key: str, data: bytes) -> None:
        check_key(key)
        with self._stripe(key):
            with self._mu:
                # "down" counts only while something waits (the uploader then probes the store); a spool write that
                # failed (disk full) leaves nothing queued, and the next put tries the store again
                queue_behind = (self._remote_down and bool(self._queue)) or self._pending[key.split("/", 1)[0]] > 0
            if not queue_behind:
                try:
                    self.remote.put(key, data)
                    return
                except StoreUnavailable as exc:
                    log.warning("object store unavailable, spooling: %s", exc, extra={"key": key})
                    with self._mu:
                        self._remote_down = True
                except Exception as exc:  # noqa: BLE001 - refused (credentials, bucket, ...): keep the bytes anyway
                    log.error("object store refused a blob, keeping it in the spool until it accepts: %s", exc,
                              extra={"key": key})
                    with self._mu:
                        self._remote_down = True
            self._spool("put", key, data)

    def get(self, key: str) -> bytes:
        check_key(key)
        with self._mu:
            e = self._latest.get(key)
        if e is not None:
            if e.op == "delete":
                raise FileNotFoundError(f"no blob {key!r}")
            try:
                return _read_entry_file(e.path)[1]
            except FileNotFoundError:
                pass  # uploaded meanwhile
        return self.remote.get(key)

    def exists(self, key: str) -> bool:
        check_key(key)
        with self._mu:
            e = self._latest.get(key)
        if e is not None:
            return e.op == "put"
        return self.remote.exists(key)

    def delete(self, key: str) -> None:
        check_key(key)
        with self._stripe(key):
            with self._mu:
                # "down" counts only while something waits (the uploader then probes the store); a spool write that
                # failed (disk full) leaves nothing queued, and the next put tries the store again
                queue_behind = (self._remote_down and bool(self._queue)) or self._pending[key.split("/", 1)[0]] > 0
            if not queue_behind:
                try:
                    self.remote.delete(key)
                    return
                except StoreUnavailable:
                    with self._mu:
                        self._remote_down = True
            self._spool("delete", key, b"")

    # --- the uploader --------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="blob-spool-uploader", daemon=True)
            self._thread.start()

    def pending(self) -> int:
        with self._mu:
            return len(self._queue)

    def drain(self, timeout: float) -> bool:
        """Wait until the spool is empty (True) or ``timeout`` seconds passed (False)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._queue:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.5))
        return True

    def close(self, drain_s: float = 0.0) -> None:
        """Stop the uploader (after trying to drain for ``drain_s``); what is left stays on disk for the next run."""
        if drain_s > 0:
            self.drain(drain_s)
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if not self._lock_fh.closed:
            fcntl.flock(self._lock_fh, fcntl.LOCK_UN)
            self._lock_fh.close()
        left = self.pending()
        if left:
            log.warning("blob spool: %d entries wait for the next start", left, extra={"spool": str(self.dir)})

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            with self._changed:
                while not self._queue and not self._stop.is_set():
                    self._changed.wait(1.0)
                if self._stop.is_set():
                    return
                entry = self._queue[0]
            try:
                self._send(entry)
            except StoreUnavailable as exc:
                failures += 1
                self.failures += 1
                delay = min(self.retry_max_s, self.retry_base_s * 2 ** (failures - 1))
                log.warning("blob spool: upload failed (%d pending), retry in %.1f s: %s", self.pending(), delay, exc)
                self._stop.wait(delay)
                continue
            except Exception:  # noqa: BLE001 - an unexpected answer: keep the entry, back off, try again
                failures += 1
                self.failures += 1
                delay = min(self.retry_max_s, self.retry_base_s * 2 ** (failures - 1))
                log.exception("blob spool: upload of %s failed, retry in %.1f s", entry.key, delay)
                self._stop.wait(delay)
                continue
            failures = 0

    def _send(self, entry: SpoolEntry) -> None:
        with self._stripe(entry.key):
            if entry.op == "put":
                try:
                    _head, data = _read_entry_file(entry.path)
                except (OSError, ValueError) as exc:
                    self._quarantine(entry.path, f"{entry.key}: unreadable ({exc})")
                    self._done(entry, uploaded=False)
                    return
                if hashlib.sha256(data).hexdigest() != entry.sha256:
                    self._quarantine(entry.path, f"{entry.key}: bytes no longer match their sha256")
                    self._done(entry, uploaded=False)
                    return
                self.remote.put(entry.key, data)
            else:
                self.remote.delete(entry.key)
            self._done(entry, uploaded=True)
        log.info("spooled blob uploaded", extra={"key": entry.key, "op": entry.op, "seq": entry.seq,
                                                  "pending": self.pending()})

    def _done(self, entry: SpoolEntry, uploaded: bool) -> None:
        with self._changed:
            self._queue.popleft()
            self._pending[entry.prefix] -= 1
            if self._pending[entry.prefix] <= 0:
                del self._pending[entry.prefix]
            if self._latest.get(entry.key) is entry:
                del self._latest[entry.key]
            if uploaded:
                self._remote_down = False
                self.uploaded += 1
            self._changed.notify_all()
        entry.path.unlink(missing_ok=True)
