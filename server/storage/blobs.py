"""Where recording bytes live. ``LocalBlobStore`` writes files under a root directory; an S3-compatible
store implements the same four methods."""

from __future__ import annotations

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


class LocalBlobStore:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        p = PurePosixPath(key)
        if p.is_absolute() or not p.parts or any(part in ("", ".", "..") for part in p.parts):
            raise BadKey(f"bad blob key {key!r}")
        return self.root.joinpath(*p.parts)

    def put(self, key: str, data: bytes) -> None:
        """Atomic: written to a temporary file beside the target, flushed, then renamed into place."""
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self.path_for(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)
