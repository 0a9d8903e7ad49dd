"""Storage errors as API answers, in the API's error format: a full disk is 507 ``storage_full``, an unreachable
object store 503 ``storage_unavailable`` (with ``Retry-After``), instead of a bare 500. The details (paths,
endpoints) go to the log, not to the caller."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from server.storage.blobs import StorageError, StorageFull

log = logging.getLogger("server.storage")


def storage_error_response(request: Request, exc: StorageError) -> JSONResponse:
    log.error("storage error on %s %s: %s", request.method, request.url.path, exc)
    if isinstance(exc, StorageFull):
        return JSONResponse({"error": {"code": "storage_full", "message":
                                       "the server has no space left to store this; nothing was stored"}},
                            status_code=507)
    return JSONResponse({"error": {"code": "storage_unavailable", "message":
                                   "the recording store cannot be reached just now; try again shortly"}},
                        status_code=503, headers={"Retry-After": "5"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(StorageError, storage_error_response)  # type: ignore[arg-type]
