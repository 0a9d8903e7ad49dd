"""Request-scoped dependencies: one database transaction per request, the caller, role checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Callable, Iterator

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.services.errors import Forbidden, Unauthenticated
from server.auth.keys import api_key_prefix, matches, sha256_hex
from server.auth.principal import Principal
from server.db.base import utcnow
from server.db.engine import is_sqlite
from server.db.models import ApiKey, AuthToken, User
from server.domain.enums import Role
from server.security.scopes import check_key_scope
from server.settings import ServerSettings


def get_db(request: Request) -> Iterator[Session]:
    """The request's session: committed after the endpoint returns (before the response is sent), rolled back
    if it raises, so a request writes everything or nothing.

    On SQLite every request takes the write lock up front (BEGIN IMMEDIATE): requests queue (busy timeout)
    instead of failing when a read turns into a write (a GET may write too: an attempt that ran out of time,
    an API key's last use). SQLite thus serves one request at a time; PostgreSQL is for more than that."""
    factory = request.app.state.session_factory
    with factory() as db, db.begin():
        if is_sqlite(db):
            db.connection(execution_options={"sqlite_immediate": True})
        yield db


DB = Annotated[Session, Depends(get_db, scope="function")]


def get_settings(request: Request) -> ServerSettings:
    return request.app.state.settings


Settings = Annotated[ServerSettings, Depends(get_settings)]


@dataclass(frozen=True)
class Origin:
    """Where a request came from (for the digital footprint)."""

    ip: str | None
    user_agent: str | None


def get_origin(request: Request) -> Origin:
    ua = request.headers.get("user-agent")
    return Origin(request.client.host if request.client else None, ua[:255] if ua else None)


From = Annotated[Origin, Depends(get_origin)]


def _unauthorized(message: str = "sign in or send an API key") -> Unauthenticated:
    return Unauthenticated(message)


def _from_api_key(db: Session, key: str) -> Principal:
    prefix = api_key_prefix(key)
    row = db.execute(select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none() if prefix else None
    if row is None or not matches(key, row.key_hash):
        raise _unauthorized("the API key is not valid")
    if row.revoked_at is not None:
        raise _unauthorized("the API key was revoked")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
    return Principal(college_id=row.college_id, api_key_id=row.id, scopes=tuple(row.scopes or ()))


def _from_token(db: Session, token: str) -> Principal:
    row = db.execute(select(AuthToken).where(AuthToken.token_hash == sha256_hex(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        raise _unauthorized("the session expired or was signed out; sign in again")
    user = db.get(User, row.user_id)
    if user is None or not user.is_active:
        raise _unauthorized("the account is disabled")
    return Principal(college_id=user.college_id, user_id=user.id, role=Role(user.role), token_id=row.id)


def get_principal(request: Request, db: DB) -> Principal:
    settings: ServerSettings = request.app.state.settings
    api_key = request.headers.get("x-api-key")
    token = None
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, cred = auth.partition(" ")
        if scheme.lower() != "bearer" or not cred.strip():
            raise _unauthorized("use 'Authorization: Bearer <token or API key>'")
        cred = cred.strip()
        if api_key_prefix(cred):
            api_key = cred
        else:
            token = cred
    if api_key:
        return _from_api_key(db, api_key)
    token = token or request.cookies.get(settings.cookie_name)
    if token:
        return _from_token(db, token)
    raise _unauthorized()


Caller = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    def _check(principal: Caller) -> Principal:
        if principal.is_api_key or not principal.has_role(*roles):
            raise Forbidden(f"this needs the role {' or '.join(r.value for r in roles)}")
        return principal

    return _check


def _college_actor(principal: Caller, request: Request) -> Principal:
    if not principal.acts_for_college:
        raise Forbidden("this needs a college API key or a college admin")
    check_key_scope(principal, request.method, getattr(request.scope.get("route"), "path", request.url.path))
    return principal


CollegeActor = Annotated[Principal, Depends(_college_actor)]
Student = Annotated[Principal, Depends(require_roles(Role.student))]
Proctor = Annotated[Principal, Depends(require_roles(Role.proctor, Role.college_admin))]
Teacher = Annotated[Principal, Depends(require_roles(Role.teacher, Role.college_admin))]
Admin = Annotated[Principal, Depends(require_roles(Role.college_admin))]
Person = Annotated[Principal, Depends(require_roles(*Role))]
