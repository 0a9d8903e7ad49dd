"""Queue webhook deliveries inside the caller's transaction: if the change is rolled back, so is the
notification; once it commits, the deliverer is woken."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any, Callable

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from server.db.base import utcnow
from server.db.models import WebhookDelivery, WebhookEndpoint
from server.domain.enums import WebhookEvent

log = logging.getLogger("server.webhooks")

_wakers: list[Callable[[], None]] = []
_lock = threading.Lock()


def add_waker(fn: Callable[[], None]) -> None:
    with _lock:
        _wakers.append(fn)


def remove_waker(fn: Callable[[], None]) -> None:
    with _lock:
        if fn in _wakers:
            _wakers.remove(fn)


def _wake(_session: Session) -> None:
    with _lock:
        wakers = list(_wakers)
    for fn in wakers:
        fn()


def enqueue(db: Session, college_id: int, event_type: WebhookEvent, data: dict[str, Any]) -> list[WebhookDelivery]:
    """One delivery per active endpoint of the college subscribed to ``event_type``."""
    event_type = WebhookEvent(event_type)
    endpoints = db.execute(
        select(WebhookEndpoint).where(WebhookEndpoint.college_id == college_id, WebhookEndpoint.is_active.is_(True))
    ).scalars().all()
    now = utcnow()
    out = []
    for ep in endpoints:
        if event_type.value not in (ep.events or []):
            continue
        event_id = str(uuid.uuid4())
        payload = {"id": event_id, "type": event_type.value, "created_at": now.isoformat(), "data": data}
        json.dumps(payload)  # fail here, inside the transaction, if the payload is not JSON
        row = WebhookDelivery(endpoint_id=ep.id, event_id=event_id, event_type=event_type.value, payload=payload,
                              next_attempt_at=now)
        db.add(row)
        out.append(row)
    if out:
        db.flush()
        event.listen(db, "after_commit", _wake, once=True)
        log.info("webhook queued", extra={"event": event_type.value, "deliveries": len(out), "college_id": college_id})
    return out
