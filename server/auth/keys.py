"""Random secrets shown once and stored as sha256: sign-in tokens, API keys, webhook signing secrets."""

from __future__ import annotations

import hashlib
import hmac
import secrets as _secrets

API_KEY_PREFIX = "pk"


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """(token, its sha256) for a person's sign-in."""
    token = _secrets.token_urlsafe(32)
    return token, sha256_hex(token)


def new_api_key() -> tuple[str, str, str]:
    """(key, prefix, sha256 of the key). The key reads ``pk_<prefix>_<secret>``; the prefix finds its row."""
    prefix = _secrets.token_hex(6)
    key = f"{API_KEY_PREFIX}_{prefix}_{_secrets.token_urlsafe(32)}"
    return key, prefix, sha256_hex(key)


def api_key_prefix(key: str) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1]


def matches(value: str, stored_sha256: str) -> bool:
    return hmac.compare_digest(sha256_hex(value), stored_sha256)


def new_webhook_secret() -> str:
    return "whsec_" + _secrets.token_urlsafe(32)
