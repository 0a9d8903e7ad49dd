"""The tool's signing keys and their rotation.

One key is ``active`` (it signs: client assertions for service tokens, Deep Linking responses,
LtiStartAssessment). ``lti_key_prepublish_days`` before the active key reaches ``lti_key_max_age_days`` a
``next`` key is made and published in ``/lti/jwks``; at the age limit it becomes active and the old key is
``retired``: still published for ``lti_key_retired_days``, then dropped. Platforms that cache the key set
therefore always know a key before it signs, and a token signed just before a switch still checks.

``kid`` is the key's RFC 7638 thumbprint (what PyLTI1p3 and jwcrypto compute from the public key).
Rotation runs in the caller's transaction and is safe on several nodes: the rows are read with
``FOR UPDATE`` on PostgreSQL, and SQLite has one writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db.base import utcnow
from server.db.engine import is_sqlite
from server.db.models import LtiToolKey


@dataclass(frozen=True)
class KeyPolicy:
    max_age_days: float = 90.0
    prepublish_days: float = 7.0
    retired_days: float = 7.0

    @classmethod
    def from_settings(cls, settings: Any) -> "KeyPolicy":
        return cls(settings.lti_key_max_age_days, settings.lti_key_prepublish_days, settings.lti_key_retired_days)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str
    public_pem: str


def new_key(state: str, now: datetime) -> LtiToolKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    jwk = JWK.from_pem(public_pem)
    public = jwk.export_public(as_dict=True)
    public.update({"kid": jwk.thumbprint(), "alg": "RS256", "use": "sig"})
    return LtiToolKey(kid=public["kid"], private_pem=private_pem, public_jwk=public, state=state, created_at=now,
                      activated_at=now if state == "active" else None)


def public_pem_of(row: LtiToolKey) -> str:
    return JWK(**row.public_jwk).export_to_pem().decode()


def _rows(db: Session) -> list[LtiToolKey]:
    q = select(LtiToolKey).where(LtiToolKey.state.in_(("next", "active", "retired"))).order_by(LtiToolKey.id)
    if not is_sqlite(db):
        q = q.with_for_update()
    return list(db.execute(q).scalars())


def rotate_if_due(db: Session, policy: KeyPolicy, now: datetime | None = None, *, force: bool = False) -> list[str]:
    """Bring the key set up to date; returns what changed (for the log). ``force`` switches to a new key now."""
    now = now or utcnow()
    rows = _rows(db)
    changes: list[str] = []
    active = [r for r in rows if r.state == "active"]
    nxt = [r for r in rows if r.state == "next"]
    if not active:
        row = nxt[0] if nxt else new_key("active", now)
        row.state, row.activated_at = "active", now
        if row.id is None:
            db.add(row)
        changes.append(f"activated {row.kid}")
        active, nxt = [row], nxt[1:]
    current = active[-1]
    age = now - (current.activated_at or current.created_at)
    max_age = timedelta(days=policy.max_age_days)
    if (force or age >= max_age - timedelta(days=policy.prepublish_days)) and not nxt:
        row = new_key("next", now)
        db.add(row)
        nxt = [row]
        changes.append(f"published next {row.kid}")
    if force or age >= max_age:
        successor = nxt[0]
        successor.state, successor.activated_at = "active", now
        for old in active:
            old.state, old.retired_at = "retired", now
            old.expires_at = now + timedelta(days=policy.retired_days)
            changes.append(f"retired {old.kid}")
        changes.append(f"activated {successor.kid}")
    for r in rows:
        if r.state == "retired" and r.expires_at is not None and r.expires_at <= now:
            db.delete(r)
            changes.append(f"dropped {r.kid}")
    db.flush()
    return changes


def signing_key(db: Session, policy: KeyPolicy, now: datetime | None = None) -> SigningKey:
    """The active key (rotating first if it is due)."""
    rotate_if_due(db, policy, now)
    row = db.execute(select(LtiToolKey).where(LtiToolKey.state == "active").order_by(LtiToolKey.id.desc())
                     .limit(1)).scalar_one()
    return SigningKey(row.kid, row.private_pem, public_pem_of(row))


def jwks(db: Session) -> dict[str, list[dict[str, Any]]]:
    """Every published public key: next, active and not yet expired retired ones."""
    now = utcnow()
    rows = db.execute(select(LtiToolKey).where(LtiToolKey.state.in_(("next", "active", "retired")))
                      .order_by(LtiToolKey.id)).scalars()
    return {"keys": [dict(r.public_jwk) for r in rows
                     if not (r.state == "retired" and r.expires_at is not None and r.expires_at <= now)]}


def main(argv: list[str] | None = None) -> int:
    """``python -m server.lti.keys [--force]``: bring the tool's keys up to date now (``--force``: switch to a
    new key at once, e.g. after a suspected leak; the old one stays published for ``lti_key_retired_days``)."""
    import sys

    from server.db.engine import make_engine, make_sessionmaker, transaction
    from server.settings import ServerSettings

    args = sys.argv[1:] if argv is None else argv
    settings = ServerSettings()
    engine = make_engine(settings.resolved_database_url())
    try:
        with transaction(make_sessionmaker(engine), write_lock=True) as db:
            changes = rotate_if_due(db, KeyPolicy.from_settings(settings), force="--force" in args)
    finally:
        engine.dispose()
    print("\n".join(changes) or "the keys are up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
