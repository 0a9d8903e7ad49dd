"""Revoking a person's sign-in tokens (after a password change or reset, or when an account is disabled)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from server.db.base import utcnow
from server.db.models import AuthToken


def revoke_all(db: Session, user_id: int, except_token_id: int | None = None) -> int:
    """Revoke every live token of the user (but ``except_token_id``); return how many."""
    q = update(AuthToken).where(AuthToken.user_id == user_id, AuthToken.revoked_at.is_(None))
    if except_token_id is not None:
        q = q.where(AuthToken.id != except_token_id)
    return db.execute(q.values(revoked_at=utcnow())).rowcount or 0
