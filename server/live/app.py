"""Hooking the live exam into the FastAPI app: routes, the student page, and the hub's start and stop.

``create_app`` calls :func:`install_live` at its marked hook and enters :func:`live_lifespan` in its lifespan
(Starlette 1.x has no startup/shutdown hooks). If the lifespan is not entered, the hub starts on the first
offer instead, and is stopped at interpreter exit.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from server.live.hub import LiveHub
from server.settings import ServerSettings

WEB_CLIENT = Path(__file__).resolve().parents[2] / "web_client"
STUDENT_PAGE = "/student/"


class _LazyHub(LiveHub):
    """Starts its worker processes when first used."""

    _started = False
    _start_lock: asyncio.Lock | None = None

    async def ensure_started(self) -> None:
        if self._started:
            return
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if not self._started:
                await self.start()
                self._started = True

    async def offer(self, *args: Any, **kwargs: Any) -> dict[str, str]:
        await self.ensure_started()
        return await super().offer(*args, **kwargs)

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await super().stop()


def install_live(app: FastAPI, settings: ServerSettings, stores: Any, enrolment_loader: Any = None) -> LiveHub:
    from server.live.enrolment import load_enrolment, router as enrolment_router
    from server.live.routes import router

    from server.live.attempts import AttemptHooks

    hub = _LazyHub(stores, settings, enrolment_loader=enrolment_loader or load_enrolment(app),
                   attempt_hooks=AttemptHooks(stores.sessions.session_factory))
    app.state.live_hub = hub
    app.include_router(router)
    app.include_router(enrolment_router)
    app.mount(STUDENT_PAGE.rstrip("/"), StaticFiles(directory=WEB_CLIENT / "student", html=True), name="student")

    # run the hub inside the app's own lifespan (after its migrations, before its engine is disposed)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with inner(app) as state:
            async with live_lifespan(app):
                yield state

    app.router.lifespan_context = lifespan
    return hub


@asynccontextmanager
async def live_lifespan(app: FastAPI) -> AsyncIterator[None]:
    hub: _LazyHub | None = getattr(app.state, "live_hub", None)
    sweep = None
    if hub is not None:
        await hub.ensure_started()
        from server.live.orphans import OrphanSweep

        # sessions whose node died and whose student never came back end here (on one node of all, once)
        sweep = OrphanSweep(hub.stores, hub.settings, hub.node_id, engine=hub.engine_settings)
        sweep.start()
    try:
        yield
    finally:
        if sweep is not None:
            await asyncio.to_thread(sweep.stop)
        if hub is not None:
            await hub.stop()
