"""The one store thread of the live side: every write of a live session (chain records, evidence blobs,
recording segments, session status) and every read the live routes make runs here, never on the event loop.
One thread keeps each chain's appends in the order they were made.

Writes survive a database that goes away for a while (PostgreSQL restarted, a fail-over): a write that meets a
lost connection is tried again on the same thread, after 0.2 s, 0.4 s, ... (capped at ``retry_max_s``) until the
database answers, and the writes behind it wait their turn, so every chain is appended afterwards in the order its
records were made. Reads (awaited by a request) are not retried: the caller gets the error at once."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from server.live.messages import StoredEvent
from server.storage import Stores
from server.storage.blobs import BlobStore

log = logging.getLogger(__name__)

T = TypeVar("T")


def database_unreachable(exc: BaseException) -> bool:
    """The database connection was lost or refused (a restart, a fail-over): worth trying again."""
    return isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DBAPIError) and bool(exc.connection_invalidated))


class StoreSink:
    def __init__(self, stores: Stores, blobs: BlobStore | None, retry_base_s: float = 0.2, retry_max_s: float = 5.0):
        self.stores = stores
        self.blobs = blobs
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-store")
        self._pending: set[asyncio.Future[Any]] = set()
        self._closing = threading.Event()

    def run(self, fn: Callable[..., T], *args: Any, retry: bool = False, **kwargs: Any) -> asyncio.Future[T]:
        """Run a store call on the store thread; await the future for its result. ``retry``: a write that must
        not be lost is tried again while the database is unreachable (see the module's doc)."""
        call = (lambda: self._until_stored(fn, args, kwargs)) if retry else (lambda: fn(*args, **kwargs))
        fut = asyncio.get_running_loop().run_in_executor(self._pool, call)
        self._pending.add(fut)
        fut.add_done_callback(self._pending.discard)
        return fut

    def _until_stored(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        delay, tries = self.retry_base_s, 0
        while True:
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - only a lost database is retried
                if not database_unreachable(exc) or self._closing.is_set():
                    raise
                tries += 1
                log.warning("the database is unreachable (try %d, again in %.1f s): %s", tries, delay,
                            str(exc).splitlines()[0][:200])
                self._closing.wait(delay)
                delay = min(delay * 2, self.retry_max_s)
                continue
            if tries:
                log.info("the database answers again after %d tries", tries)
            return result

    def logged(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run a store write nobody waits for (retried while the database is unreachable); a failure is logged."""
        self.run(fn, *args, retry=True, **kwargs).add_done_callback(
            lambda f: f.exception() is not None and log.warning("%s: %s", what, f.exception()))

    def record(self, sid: str, record: dict[str, Any]) -> asyncio.Future[Any]:
        """Append one record to the session's chain (retried while the database is unreachable)."""
        return self.run(self.stores.events.append, sid, record, retry=True)

    def events(self, sid: str, events: list[StoredEvent]) -> asyncio.Future[float]:
        """Evidence JPEGs to ``<session>/evidence/<name>``, then the records to the chain; the future gives the
        time.monotonic() they were stored."""
        def put() -> float:
            for ev in events:
                for name, data in ev.images.items():
                    if self.blobs is not None:
                        self.blobs.put(f"{sid}/evidence/{name}", data)
            self.stores.events.append_many(sid, [ev.record for ev in events])
            return time.monotonic()

        return self.run(put, retry=True)

    async def drain(self) -> None:
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def shutdown(self) -> None:
        self._closing.set()  # a write still waiting for the database gives up (and is logged)
        self._pool.shutdown(wait=True)
