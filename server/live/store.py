"""The one store thread of the live side: every write of a live session (chain records, evidence blobs,
recording segments, session status) and every read the live routes make runs here, never on the event loop.
One thread keeps each chain's appends in the order they were made."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from server.live.messages import StoredEvent
from server.storage import Stores
from server.storage.blobs import BlobStore

log = logging.getLogger(__name__)

T = TypeVar("T")


class StoreSink:
    def __init__(self, stores: Stores, blobs: BlobStore | None):
        self.stores = stores
        self.blobs = blobs
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-store")
        self._pending: set[asyncio.Future[Any]] = set()

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> asyncio.Future[T]:
        """Run a store call on the store thread; await the future for its result."""
        fut = asyncio.get_running_loop().run_in_executor(self._pool, lambda: fn(*args, **kwargs))
        self._pending.add(fut)
        fut.add_done_callback(self._pending.discard)
        return fut

    def logged(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run a store call nobody waits for; a failure is logged."""
        self.run(fn, *args, **kwargs).add_done_callback(
            lambda f: f.exception() is not None and log.warning("%s: %s", what, f.exception()))

    def record(self, sid: str, record: dict[str, Any]) -> asyncio.Future[Any]:
        """Append one record to the session's chain."""
        return self.run(self.stores.events.append, sid, record)

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

        return self.run(put)

    async def drain(self) -> None:
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)
