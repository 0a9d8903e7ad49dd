"""Sign-in for people: e-mail and password (argon2) give a bearer token, also set as an HttpOnly cookie."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from server.api.deps import DB, Caller, From, Settings
from server.services.errors import Unauthenticated, Unsupported
from server.services import footprint
from server.auth.keys import new_token
from server.auth.passwords import needs_rehash, verify_password, hash_password
from server.db.base import utcnow
from server.db.models import AuthToken, User
from server.domain.enums import Verb

router = APIRouter(prefix="/api/auth", tags=["sign-in"])


class LoginIn(BaseModel):
    email: str = Field(min_length=3, max_length=255)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    id: int
    college_id: int
    email: str
    full_name: str
    role: str
    external_id: str | None = None


class LoginOut(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: str
    user: UserOut


def user_out(u: User) -> UserOut:
    return UserOut(id=u.id, college_id=u.college_id, email=u.email, full_name=u.full_name, role=u.role,
                   external_id=u.external_id)


@router.post("/login", response_model=LoginOut, summary="Sign in with e-mail and password")
def login(body: LoginIn, db: DB, settings: Settings, origin: From, response: Response) -> LoginOut:
    user = db.execute(select(User).where(func.lower(User.email) == body.email.strip().lower())).scalar_one_or_none()
    ok = verify_password(user.password_hash if user else None, body.password)
    if user is None or not ok or not user.is_active:
        raise Unauthenticated("wrong e-mail or password")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(body.password)
    token, digest = new_token()
    expires = utcnow() + timedelta(hours=settings.token_ttl_hours)
    db.add(AuthToken(user_id=user.id, token_hash=digest, expires_at=expires, ip=origin.ip, user_agent=origin.user_agent))
    footprint.record(db, college_id=user.college_id, actor_id=user.id, verb=Verb.signed_in, object_type="lms",
                     object_id="proctor", object_name="Proctor LMS", ip=origin.ip, user_agent=origin.user_agent)
    response.set_cookie(settings.cookie_name, token, max_age=int(settings.token_ttl_hours * 3600), httponly=True,
                        samesite="strict", secure=settings.cookie_secure, path="/")
    return LoginOut(token=token, expires_at=expires.isoformat(), user=user_out(user))


@router.post("/logout", status_code=204, summary="Sign out (revokes the token)")
def logout(db: DB, caller: Caller, settings: Settings, origin: From) -> Response:
    if caller.token_id is None:
        raise Unsupported("API keys do not sign out; revoke the key instead")
    tok = db.get(AuthToken, caller.token_id)
    tok.revoked_at = utcnow()
    footprint.record(db, college_id=caller.college_id, actor_id=caller.user_id, verb=Verb.signed_out,
                     object_type="lms", object_id="proctor", object_name="Proctor LMS", ip=origin.ip,
                     user_agent=origin.user_agent)
    out = Response(status_code=204)
    out.delete_cookie(settings.cookie_name, path="/")
    return out


@router.get("/me", response_model=UserOut, summary="The signed-in person")
def me(db: DB, caller: Caller) -> UserOut:
    if caller.user_id is None:
        raise Unsupported("an API key is not a person")
    return user_out(db.get(User, caller.user_id))
