"""Errors as clear 4xx answers with a machine-readable body::

    {"error": {"code": "validation_error", "message": "...", "details": [{"field": "body.title", ...}]}}

Codes: validation_error (422), unauthorized (401), forbidden (403), not_found (404), conflict (409),
illegal_transition (409), rule_violation (422), rate_limited (429), internal_error (500).
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
from server.storage.events import UnknownSession

log = logging.getLogger("server.api")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def not_found(what: str, ident: Any) -> ApiError:
    return ApiError(404, "not_found", f"{what} {ident} was not found", {"object": what, "id": ident})


def forbidden(message: str = "your role does not allow this") -> ApiError:
    return ApiError(403, "forbidden", message)


def conflict(message: str, details: Any = None) -> ApiError:
    return ApiError(409, "conflict", message, details)


def invalid(message: str, field: str | None = None) -> ApiError:
    return ApiError(422, "validation_error", message, [{"field": field, "message": message}] if field else None)


def body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    return {"error": err}


_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 415: "unsupported_media_type", 422: "validation_error"}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_req: Request, exc: ApiError) -> JSONResponse:
        headers = ({"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}) | getattr(exc, "headers", {})
        return JSONResponse(body(exc.code, exc.message, exc.details), status_code=exc.status, headers=headers)

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
