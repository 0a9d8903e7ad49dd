"""Signed evidence: the server's public keys (anyone may fetch them, to verify exports offline) and a
session's evidence export (a ZIP that ``proctor verify`` checks), for the college's proctors and admins."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from server.api.deps import DB, Proctor
from server.services import access
from server.evidence.bundle import collect, write_zip
from server.evidence.signing import EvidenceMismatch

router = APIRouter(prefix="/api/evidence", tags=["evidence"])
log = logging.getLogger("server.evidence")


class EvidenceKey(BaseModel):
    key_id: str = Field(description="first 16 hex digits of the sha256 of the raw public key")
    algorithm: str = Field(description="always Ed25519")
    public_key: str = Field(description="base64 of the 32 raw bytes of the public key")
    public_key_pem: str = Field(description="the same key as PEM (SubjectPublicKeyInfo)")
    created: str | None = Field(description="when the server started signing with it (ISO 8601)")
    retired: str | None = Field(description="when it was replaced by a newer key; null for the current key")


class EvidenceKeys(BaseModel):
    current: str = Field(description="the key id that signs new checkpoints")
    keys: list[EvidenceKey]


@router.get("/keys", response_model=EvidenceKeys,
            summary="The public keys that sign session checkpoints (current and retired)")
def keys(request: Request) -> EvidenceKeys:
    keyring = request.app.state.stores.evidence.keyring
    return EvidenceKeys(current=keyring.current().key_id,
                        keys=[EvidenceKey(**k.to_dict()) for k in keyring.public_keys()])


@router.get("/sessions/{session_id}/export.zip", response_class=Response,
            responses={200: {"content": {"application/zip": {}}}},
            summary="A session's evidence for offline verification (`proctor verify`): chain, signed "
                    "checkpoints, public keys, recording segments, evidence frames, report")
def export_zip(session_id: str, request: Request, db: DB, me: Proctor) -> Response:
    s = access.college_session(db, me, session_id)
    stores = request.app.state.stores
    signer = stores.evidence
    try:  # sign what is not yet signed (in a savepoint: a refusal leaves the request's transaction usable)
        with db.begin_nested():
            signer.checkpoint_in(db, s.id, "export")
    except EvidenceMismatch as exc:
        log.error("evidence checkpoint refused", extra={"session_id": s.id, "reason": str(exc)})
    collected = collect(db, stores.recordings.blobs, signer.keyring, s.id)
    extra = {}
    try:
        from server.review import views
        from server.review.export import render_export

        view = views.session_view(db, stores, s)
        entries = collected.doc["chain"]["entries"]
        series = views.load_series(stores, s.id, entries, views.fold_with_seq(entries))
        extra["report.html"] = render_export(view, series, stores, user_id=me.user_id).encode()
    except Exception as exc:  # noqa: BLE001 - the evidence is exported even if the report cannot be drawn
        log.error("export report failed", extra={"session_id": s.id, "error": str(exc)})
    return Response(write_zip(collected, extra), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="session-{s.id}-evidence.zip"'})
