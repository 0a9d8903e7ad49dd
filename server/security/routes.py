"""Security endpoints: a college admin lifts a sign-in lockout; a person changes their own password (which
signs out their other sessions)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from server.api.deps import DB, Admin, get_principal
from server.auth.passwords import WeakPassword, hash_password, verify_password
from server.auth.principal import Principal
from server.auth.signin import RateLimited
from server.auth.tokens import revoke_all
from server.db.engine import transaction
from server.db.models import User
from server.services import access
from server.services.errors import Forbidden, Invalid, Unsupported

router = APIRouter(tags=["sign-in"])


class LockoutOut(BaseModel):
    user_id: int
    was_locked: bool


@router.post("/api/v1/users/{user_id}/unlock", response_model=LockoutOut,
             summary="Lift a sign-in lockout (college admin in person)")
def unlock(user_id: int, request: Request, db: DB, caller: Admin) -> LockoutOut:
    user = access.college_user(db, caller, user_id)
    return LockoutOut(user_id=user.id, was_locked=request.app.state.signin_throttle.unlock(user.email))


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=8, max_length=1024)


class PasswordChangeOut(BaseModel):
    signed_out_sessions: int


def _short_caller(request: Request) -> Principal:
    """The caller, looked up in a transaction of its own (argon2 must not run inside the request's one)."""
    with transaction(request.app.state.session_factory) as db:
        return get_principal(request, db)


def _hash_of(factory: object, user_id: int) -> tuple[str | None, str]:
    with transaction(factory) as db:
        user = db.get(User, user_id)
        return user.password_hash, user.email


def _store(factory: object, user_id: int, new_hash: str, keep_token: int | None) -> int:
    with transaction(factory, write_lock=True) as db:
        db.get(User, user_id).password_hash = new_hash
        return revoke_all(db, user_id, except_token_id=keep_token)


@router.post("/api/auth/password", response_model=PasswordChangeOut,
             summary="Change your own password (your other sessions are signed out)",
             responses={429: {"description": "too many wrong current passwords"}})
async def change_password(body: PasswordChangeIn, request: Request,
                          caller: Annotated[Principal, Depends(_short_caller)]) -> PasswordChangeOut:
    if caller.user_id is None:
        raise Unsupported("an API key has no password")
    factory, throttle = request.app.state.session_factory, request.app.state.signin_throttle
    current, email = await run_in_threadpool(_hash_of, factory, caller.user_id)
    ip = request.client.host if request.client else None
    refusal = throttle.begin(email, ip)
    if refusal is not None:
        raise RateLimited(refusal.retry_after_s, refusal.reason)
    ok = False
    try:
        async with request.app.state.signin_hash_gate.get():
            ok = await asyncio.to_thread(verify_password, current, body.current_password)
            if ok:
                try:
                    new_hash = await asyncio.to_thread(hash_password, body.new_password)
                except WeakPassword as exc:
                    raise Invalid.field(str(exc), "body.new_password") from exc
    finally:
        throttle.end(email, ip, ok)
    if not ok:
        raise Forbidden("the current password is wrong")
    n = await run_in_threadpool(_store, factory, caller.user_id, new_hash, caller.token_id)
    return PasswordChangeOut(signed_out_sessions=n)
