"""Personal data under Kazakhstan's Law 94-V: consents, retention (the job), a student's export and erasure
(see README "Personal data"). :func:`install_privacy` adds the routes and the retention job to the app."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator


def install_privacy(app: Any) -> None:
    from server.privacy import routes
    from server.privacy.retention import RetentionJob

    app.include_router(routes.router)
    settings = app.state.settings
    if settings.privacy_job_interval_s <= 0:
        return
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            job = RetentionJob(a.state.session_factory, a.state.stores.recordings.blobs, settings)
            job.start()
            try:
                yield state
            finally:
                job.stop()

    app.router.lifespan_context = lifespan
