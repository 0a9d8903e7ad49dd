"""The server's evidence signing key (Ed25519), kept outside the database.

The private key is a PEM file (PKCS#8) that only the server's user may read: created with mode 0600 on first
start (in a 0700 directory), refused if group or others can read it. A PEM given in the settings
(``PROCTOR_SERVER_EVIDENCE_SIGNING_KEY``, e.g. from a secret store) is used instead and nothing is written.
Beside the key file, ``public-keys.json`` lists every public key the server has signed with (id, algorithm,
public key, created, retired), so checkpoints signed before a rotation still verify.

``rotate`` makes a new key: the old public key stays in the list marked retired, the old private key is gone.
A running server picks the new key up at its next checkpoint (the key file's modification is noticed).
"""

from __future__ import annotations

import base64
import json
import os
import stat
import tempfile
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from proctor.chain import canonical_json
from proctor.verify import ALGORITHM, key_id_for, public_pem

PUBLIC_KEYS_FILE = "public-keys.json"


class EvidenceKeyError(RuntimeError):
    """The signing key cannot be used (unreadable, not Ed25519, readable by others, ...)."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class PublicKeyInfo:
    key_id: str
    algorithm: str
    public_key: str  # base64 of the 32 raw bytes
    public_key_pem: str
    created: str | None
    retired: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private: Ed25519PrivateKey
    public_raw: bytes

    def sign(self, payload: dict[str, Any]) -> str:
        return base64.b64encode(self.private.sign(canonical_json(payload))).decode()

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_raw).decode()


def _signing_key(private: Ed25519PrivateKey) -> SigningKey:
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return SigningKey(key_id_for(raw), private, raw)


def _load_pem(data: bytes, where: str) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise EvidenceKeyError(f"{where}: not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise EvidenceKeyError(f"{where}: the evidence signing key must be Ed25519")
    return _signing_key(key)


def _pem(private: Ed25519PrivateKey) -> bytes:
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


def _write_private(path: Path, data: bytes, *, replace: bool) -> None:
    """Write with mode 0600 from the start (never readable by others, not even for a moment)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not replace:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Keyring:
    def __init__(self, key_file: Path, configured_pem: str | None = None):
        self.key_file = Path(key_file)
        self.configured_pem = configured_pem
        self.public_file = self.key_file.parent / PUBLIC_KEYS_FILE
        self._lock = threading.Lock()
        self._current: SigningKey | None = None
        self._stamp: tuple[int, int] | None = None

    # ---- the private key -----------------------------------------------------------------------------
    def _check_mode(self) -> None:
        mode = stat.S_IMODE(self.key_file.stat().st_mode)
        if mode & 0o077:
            raise EvidenceKeyError(f"{self.key_file} is readable by others (mode {mode:04o}): "
                                   f"`chmod 600 {self.key_file}` (it must be readable by the server only)")

    def current(self) -> SigningKey:
        """The key that signs now: loaded once, again when the key file changed (rotation), created if absent."""
        with self._lock:
            if self.configured_pem:
                if self._current is None:
                    self._current = _load_pem(self.configured_pem.encode(), "evidence_signing_key")
                    self._register(self._current)
                return self._current
            if not self.key_file.exists():
                key = _signing_key(Ed25519PrivateKey.generate())
                try:
                    _write_private(self.key_file, _pem(key.private), replace=False)
                except FileExistsError:  # another process made it first: use theirs
                    pass
            st = self.key_file.stat()
            stamp = (st.st_mtime_ns, st.st_ino)
            if self._current is None or stamp != self._stamp:
                self._check_mode()
                self._current = _load_pem(self.key_file.read_bytes(), str(self.key_file))
                self._stamp = stamp
                self._register(self._current)
            return self._current

    def rotate(self) -> SigningKey:
        """A new key replaces the current one; the old public key is kept, marked retired."""
        if self.configured_pem:
            raise EvidenceKeyError("the signing key is given in the settings: rotate it there "
                                   "(then the old public key must be published by hand)")
        old = self.current()
        new = _signing_key(Ed25519PrivateKey.generate())
        with self._lock:
            self._register(new)
            _write_private(self.key_file, _pem(new.private), replace=True)
            self._retire(old.key_id)
            self._current, self._stamp = None, None
        return self.current()

    # ---- the public keys ---------------------------------------------------------------------------------
    def _read_public(self) -> list[dict[str, Any]]:
        if not self.public_file.is_file():
            return []
        try:
            data = json.loads(self.public_file.read_text())
        except ValueError as exc:
            raise EvidenceKeyError(f"{self.public_file} is not JSON: {exc}") from exc
        return [k for k in data.get("keys", []) if isinstance(k, dict)]

    def _write_public(self, keys: list[dict[str, Any]]) -> None:
        self.public_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.public_file.parent, prefix=".pub-")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump({"keys": keys}, fh, indent=2)
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.public_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _register(self, key: SigningKey) -> None:
        keys = self._read_public()
        if any(k.get("key_id") == key.key_id for k in keys):
            return
        keys.append(PublicKeyInfo(key.key_id, ALGORITHM, key.public_b64, public_pem(key.public_raw), _now()).to_dict())
        self._write_public(keys)

    def _retire(self, key_id: str) -> None:
        keys = self._read_public()
        for k in keys:
            if k.get("key_id") == key_id and not k.get("retired"):
                k["retired"] = _now()
        self._write_public(keys)

    def public_keys(self) -> list[PublicKeyInfo]:
        """Every key this server signed with, the current one unretired (newest last)."""
        self.current()
        fields = PublicKeyInfo.__dataclass_fields__
        return [PublicKeyInfo(**{k: v for k, v in d.items() if k in fields}) for d in self._read_public()]

    def public_key(self, key_id: str) -> PublicKeyInfo | None:
        return next((k for k in self.public_keys() if k.key_id == key_id), None)
