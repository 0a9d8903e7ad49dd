"""The outbox rows both deliverers send (``webhook_deliveries`` and ``lti_service_calls``): claiming the next
due row, settling a try with one retry policy, and the sender loop both run on a background thread.

A row is claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one writer) and leased by pushing
``next_attempt_at`` past the send's longest time, so two nodes never send the same try. A failed try is tried
again after ``base * 2**(n-1)`` seconds (capped, with a little jitter) until ``max_attempts``, then the row is
marked failed."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db.engine import is_sqlite
from server.domain.enums import DeliveryStatus
from server.periodic import Periodic


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_s: float = 5.0
    max_s: float = 3600.0
    jitter: float = 0.1  # up to +10%

    def delay_after(self, failures: int) -> float:
        d = min(self.max_s, self.base_s * (2 ** max(0, failures - 1)))
        return d * (1 + random.uniform(0, self.jitter)) if self.jitter else d


def claim_due(db: Session, model: Any, now: datetime, lease_s: float, gone: Callable[[Any], str | None]) -> Any:
    """The next due pending row of `model`, its try counted and leased; None when nothing is due. A row whose
    target is gone (`gone` gives the reason, else None) is marked failed with that reason and passed over."""
    q = (select(model).where(model.status == DeliveryStatus.pending.value, model.next_attempt_at <= now)
         .order_by(model.next_attempt_at, model.id).limit(1))
    if not is_sqlite(db):
        q = q.with_for_update(skip_locked=True)
    while True:
        row = db.execute(q).scalar_one_or_none()
        if row is None:
            return None
        reason = gone(row)
        if reason is None:
            break
        row.status, row.last_error = DeliveryStatus.failed.value, reason
        db.flush()
    row.attempts += 1
    row.next_attempt_at = now + timedelta(seconds=lease_s)  # nobody else picks it while it is being sent
    return row


def settle(row: Any, number: int, ok: bool, error: str | None, now: datetime, policy: RetryPolicy) -> None:
    """Record try `number`'s outcome on the row: delivered, failed for good, or due again after the backoff."""
    if ok:
        row.status, row.delivered_at, row.last_error = DeliveryStatus.delivered.value, now, None
    elif number >= policy.max_attempts:
        row.status, row.last_error = DeliveryStatus.failed.value, error
    else:
        row.last_error = error
        row.next_attempt_at = now + timedelta(seconds=policy.delay_after(number))


class OutboxSender:
    """Sends every due row on each pass, on a thread woken when a row is queued (`wakers`: the queueing module's
    ``add_waker``/``remove_waker``). A subclass claims a job (:func:`claim_due` in its own transaction), tries
    it and settles it; ``before_pass`` is its housekeeping, run also once at start, before requests come."""

    def __init__(self, name: str, poll_interval_s: float, log: logging.Logger, wakers: Any) -> None:
        self._wakers = wakers
        self._periodic = Periodic(name, self.run_once, poll_interval_s, log)

    def before_pass(self) -> None:
        pass

    def _claim(self) -> Any:
        raise NotImplementedError

    def _try(self, job: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def run_once(self) -> int:
        """Send every row that is due now; returns how many tries were made."""
        self.before_pass()
        tries = 0
        while not self._periodic.stopping:
            job = self._claim()
            if job is None:
                break
            self._try(job)
            tries += 1
        return tries

    def wake(self) -> None:
        self._periodic.wake()

    def start(self) -> None:
        if self._periodic.running:
            return
        self.before_pass()
        self._wakers.add_waker(self.wake)
        self._periodic.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._wakers.remove_waker(self.wake)
        self._periodic.stop(timeout)
        self.close()
