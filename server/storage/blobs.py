"""Where recording bytes, evidence frames and enrolment photos live.

``BlobStore`` is the four-method interface every caller uses. ``LocalBlobStore`` writes files under a root
directory (the embedded default); ``server.storage.s3.S3BlobStore`` puts them in an S3-compatible bucket, and
``server.storage.spool.SpooledBlobStore`` keeps them on local disk while that bucket cannot be reached.

Errors every implementation raises the same way: a missing blob is ``FileNotFoundError``; a full disk is
:class:`StorageFull` (the caller tells the student, nothing half-written is kept); an object store that cannot be
reached is :class:`StoreUnavailable`.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Protocol


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...


class BadKey(ValueError):
    pass


class StorageError(RuntimeError):
    """A blob could not be stored; nothing half-written was kept."""


class StorageFull(StorageError):
    """No space left where the bytes must be written (local disk or spool). The write did not happen: the caller
    keeps its data or tells the person; a recording segment that raised this is not in the manifest."""


class StoreUnavailable(StorageError):
    """The object store cannot be reached (connection refused or timed out, or it answered 5xx)."""


NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def check_key(key: str) -> PurePosixPath:
    """A relative path of plain parts ("<session>/evidence/x.jpg"); anything that could escape a root is refused."""
    p = PurePosixPath(key)
    if p.is_absolute() or not p.parts or any(part in ("", ".", "..") for part in p.parts) or "\\" in key \
            or "//" in key:
        raise BadKey(f"bad blob key {key!r}")
    return p


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (the directory entry, not only the file's bytes)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, chunks: list[bytes]) -> None:
    """Temporary file beside ``path`` → write → fsync → rename → fsync of the directory. Either the whole file is
    there under its name afterwards, or nothing is (the temporary file is removed on any error). A full disk raises
    :class:`StorageFull`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    except OSError as exc:
        if exc.errno in NO_SPACE_ERRNOS:
            raise StorageFull(f"no space left to write {path.name}: {exc.strerror}") from exc
        raise
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in NO_SPACE_ERRNOS:
            raise StorageFull(f"no space left to write {path.name}: {exc.strerror}") from exc
        raise


class LocalBlobStore:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).parts)

    def put(self, key: str, data: bytes) -> None:
        """Atomic: written to a temporary file beside the target, fsynced, then renamed into place."""
        write_durably(self.path_for(key), [data])

    def get(self, key: str) -> bytes:
        return self.path_for(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)
