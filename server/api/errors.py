"""The API edge of errors: the one place that chooses the HTTP status of every refusal. Services and routes
raise domain errors (``server.services.errors``); the handlers here answer each with its status and a
machine-readable body::

    {"error": {"code": "validation_error", "message": "...", "details": [{"field": "body.title", ...}]}}

Domain error -> status (code): NotFound 404 (not_found), Unauthenticated 401 (unauthorized, with
``WWW-Authenticate: Bearer``), Forbidden 403 (forbidden), Unsupported 400 (bad_request), Conflict 409
(conflict), WrongState and the attempt state machine's IllegalTransition 409 (illegal_transition), Invalid 422
(validation_error), RuleViolation 422 (rule_violation), Expired 410 (expired), UpstreamFailed 502
(upstream_failed), TooManyAttempts 429 (rate_limited, with ``Retry-After``); a subclass answers with its base's
status and its own code; an unknown proctoring session 404, a database integrity error 409, a full disk 507
(storage_full), an unreachable object store 503 (storage_unavailable, with ``Retry-After``; the details of storage errors go to the log, not to the caller), anything else 500
(internal_error). Request validation answers 422 (validation_error).

ProctoringInterrupted is a Conflict: 409 with its own code (proctoring_interrupted).

``ApiError`` is for the HTTP layer's own refusals that have no domain meaning (a body too large, a body that
is not JSON, a service switched off), raised by routes only.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.domain.attempts import IllegalTransition
from server.services.errors import (
    Conflict, DomainError, Expired, Forbidden, Invalid, NotFound, RuleViolation, TooManyAttempts, Unauthenticated,
    Unsupported, UpstreamFailed,
)
from server.storage.blobs import StorageError, StorageFull
from server.storage.events import UnknownSession

log = logging.getLogger("server.api")


class ApiError(Exception):
    """A refusal of the HTTP layer itself, with its status (see the module docstring)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


# Looked up along each error's class hierarchy: a subclass not listed (WrongState) answers as its base (Conflict),
# with its own code.
STATUS_OF: dict[type[DomainError], int] = {
    NotFound: 404, Unauthenticated: 401, Forbidden: 403, Unsupported: 400, Conflict: 409, Invalid: 422,
    RuleViolation: 422, Expired: 410, UpstreamFailed: 502, TooManyAttempts: 429,
}


def status_of(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400


def body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    return {"error": err}


def answer(exc: DomainError) -> JSONResponse:
    """The answer to a refusal that a route returns instead of raising, so the request's transaction still
    commits what it did before refusing (e.g. an attempt moved to timed_out)."""
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after_s)}
    return JSONResponse(body(exc.code, exc.message, exc.details), status_code=status, headers=headers)


_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 415: "unsupported_media_type", 422: "validation_error"}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_req: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(body(exc.code, exc.message, exc.details), status_code=exc.status, headers=headers)

    @app.exception_handler(DomainError)
    async def _domain_error(_req: Request, exc: DomainError) -> JSONResponse:
        return answer(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type")}
            for e in exc.errors()
        ]
        fields = ", ".join(d["field"] for d in details)
        return JSONResponse(body("validation_error", f"invalid or missing fields: {fields}", details), status_code=422)

    @app.exception_handler(IllegalTransition)
    async def _illegal(_req: Request, exc: IllegalTransition) -> JSONResponse:
        return JSONResponse(body("illegal_transition", str(exc),
                                 {"from": exc.current, "to": exc.target, "reason": exc.reason}), status_code=409)

    @app.exception_handler(UnknownSession)
    async def _unknown_session(_req: Request, exc: UnknownSession) -> JSONResponse:
        return JSONResponse(body("not_found", str(exc), {"object": "proctoring_session", "id": exc.session_id}),
                            status_code=404)

    @app.exception_handler(IntegrityError)
    async def _integrity(_req: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity error", extra={"error": str(exc.orig)[:300]})
        return JSONResponse(body("conflict", "the change conflicts with existing data (a duplicate or a missing "
                                             "reference)"), status_code=409)

    @app.exception_handler(StorageError)
    async def _storage(request: Request, exc: StorageError) -> JSONResponse:
        log.error("storage error on %s %s: %s", request.method, request.url.path, exc)
        if isinstance(exc, StorageFull):
            return JSONResponse(body("storage_full", "the server has no space left to store this; nothing was "
                                                     "stored"), status_code=507)
        return JSONResponse(body("storage_unavailable", "the recording store cannot be reached just now; try "
                                                        "again shortly"), status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        return JSONResponse(body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))


def install_fallback(app: FastAPI) -> None:
    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(body("internal_error", "an unexpected error occurred; nothing was saved"),
                            status_code=500)
