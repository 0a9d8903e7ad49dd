"""Secrets at rest (webhook signing secrets): encrypted with a key derived from the server's secret key
(``data_dir/secret_key``, mode 0600, outside the database), Fernet (AES-128-CBC + HMAC-SHA256) from
``cryptography``. Someone with the database alone cannot sign webhooks in the college's name.

Stored form: ``fernet:<token>``. A value without the prefix is a secret stored in clear by an older version;
:func:`encrypt_stored_secrets` encrypts those at start-up (the data migration: it needs the key, which the
Alembic migration does not have).
"""

from __future__ import annotations

import base64
import logging

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

PREFIX = "fernet:"
log = logging.getLogger("server.security")


class SecretUnreadable(ValueError):
    """A stored secret that this server's key cannot decrypt (the key was changed)."""


class SecretBox:
    def __init__(self, server_key: str):
        raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"proctor-secretbox-v1",
                   info=b"webhook secrets").derive(server_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(raw))

    def seal(self, secret: str) -> str:
        return PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # not yet encrypted (see encrypt_stored_secrets)
        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode()).decode()
        except InvalidToken as exc:
            raise SecretUnreadable("the stored secret cannot be decrypted with this server's key") from exc


def encrypt_stored_secrets(factory: sessionmaker[Session], box: SecretBox) -> int:
    """Encrypt every webhook secret still stored in clear; return how many."""
    from server.db.engine import transaction
    from server.db.models import WebhookEndpoint

    n = 0
    with transaction(factory, write_lock=True) as db:
        for ep in db.execute(select(WebhookEndpoint).where(~WebhookEndpoint.secret.startswith(PREFIX))).scalars():
            ep.secret = box.seal(ep.secret)
            n += 1
    if n:
        log.info("webhook secrets encrypted at rest", extra={"count": n})
    return n


_boxes: dict[str, SecretBox] = {}


def for_settings(settings: object) -> SecretBox:
    """The box for a server's settings (its secret key); cached per key."""
    key = settings.resolved_secret_key()  # type: ignore[attr-defined]
    box = _boxes.get(key)
    if box is None:
        box = _boxes[key] = SecretBox(key)
    return box
