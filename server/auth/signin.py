"""Signing in with e-mail and password, safe under a flood of wrong passwords.

- Throttled first (server.security.throttle): a locked account or a throttled address is refused with
  :class:`RateLimited` (a ``TooManyAttempts`` domain error: 429 with ``Retry-After`` at the API edge) before any password is hashed, after ``signin_refusal_delay_s`` (a tarpit: a refused flood
  does not come straight back).
- argon2 runs outside any database transaction (the candidates are read in a short read-only one, the token is
  written in a short write one), on at most ``signin_hash_concurrency`` threads of its own, so waiting
  sign-ins never hold the write lock (SQLite) nor the threads other requests need.
- E-mail addresses are unique per college: an address used in several colleges is checked against each
  account (at most ``MAX_CANDIDATES``); ``college`` (the slug) picks one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from server.auth.keys import new_token
from server.auth.passwords import hash_password, needs_rehash, verify_password
from server.db.base import utcnow
from server.db.engine import transaction
from server.db.models import AuthToken, College, User
from server.security.throttle import SignInThrottle
from server.services.errors import AccountAmbiguous, TooManyAttempts, Unauthenticated

MAX_CANDIDATES = 5


@dataclass(frozen=True)
class _Candidate:
    id: int
    password_hash: str | None
    is_active: bool


@dataclass(frozen=True)
class SignedIn:
    token: str
    expires_at: datetime
    user: User


class RateLimited(TooManyAttempts):
    def __init__(self, retry_after_s: int, reason: str):
        what = ("too many failed sign-ins for this account; it is locked for a while (a college admin can unlock "
                "it)" if reason == "account_locked" else "too many failed sign-ins from this address")
        super().__init__(f"{what}: try again in {retry_after_s} s", retry_after_s,
                         {"retry_after_s": retry_after_s, "reason": reason})


class _HashGate:
    """At most n argon2 runs at once, per event loop (waiters hold no thread)."""

    def __init__(self, n: int):
        self.n = max(1, n)
        self._sems: dict[int, asyncio.Semaphore] = {}

    def get(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        sem = self._sems.get(id(loop))
        if sem is None:
            self._sems = {id(loop): asyncio.Semaphore(self.n)}  # one loop at a time in practice
            sem = self._sems[id(loop)]
        return sem


def _candidates(factory: Any, email: str, college: str | None) -> list[_Candidate]:
    with transaction(factory) as db:  # BEGIN (deferred): a read, no write lock
        q = select(User.id, User.password_hash, User.is_active).where(func.lower(User.email) == email)
        if college:
            q = q.join(College, College.id == User.college_id).where(College.slug == college)
        rows = db.execute(q.order_by(User.id).limit(MAX_CANDIDATES)).all()
    return [_Candidate(r.id, r.password_hash, bool(r.is_active)) for r in rows]


def _issue(factory: Any, user_id: int, password: str, ttl_hours: float, ip: str | None, user_agent: str | None,
           on_success: Callable[[Session, User], None]) -> SignedIn:
    token, digest = new_token()
    expires = utcnow() + timedelta(hours=ttl_hours)
    with transaction(factory, write_lock=True) as db:
        user = db.get(User, user_id)
        if user is None or not user.is_active:
            raise Unauthenticated("wrong e-mail or password")
        if user.password_hash and needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        db.add(AuthToken(user_id=user.id, token_hash=digest, expires_at=expires, ip=ip, user_agent=user_agent))
        on_success(db, user)
        db.flush()
        db.expunge(user)
    return SignedIn(token, expires, user)


async def sign_in(app: Any, email: str, password: str, college: str | None, ip: str | None,
                  user_agent: str | None, on_success: Callable[[Session, User], None]) -> SignedIn:
    settings = app.state.settings
    throttle: SignInThrottle = app.state.signin_throttle
    gate: _HashGate = app.state.signin_hash_gate
    email = email.strip().lower()
    refusal = throttle.begin(email, ip)
    if refusal is not None:
        await asyncio.sleep(min(refusal.retry_after_s, settings.signin_refusal_delay_s))  # holds no thread, no lock
        raise RateLimited(refusal.retry_after_s, refusal.reason)
    matched: list[_Candidate] = []
    try:
        candidates = await run_in_threadpool(_candidates, app.state.session_factory, email, college)
        async with gate.get():
            for c in candidates or [_Candidate(0, None, False)]:  # an unknown address costs one hash too
                if await asyncio.to_thread(verify_password, c.password_hash, password) and c.is_active:
                    matched.append(c)
    finally:
        throttle.end(email, ip, ok=len(matched) == 1)
    if not matched:
        raise Unauthenticated("wrong e-mail or password")
    if len(matched) > 1:
        raise AccountAmbiguous("this e-mail address signs in to several colleges: say which one", {"field": "college"})
    return await run_in_threadpool(_issue, app.state.session_factory, matched[0].id, password,
                                   settings.token_ttl_hours, ip, user_agent, on_success)
