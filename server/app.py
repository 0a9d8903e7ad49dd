"""The ASGI app factory and the serve command.

``create_app(settings)`` builds the FastAPI app: database engine and sessions on ``app.state``, the REST
routers, the OpenAPI document at ``/openapi.json`` and its docs page at ``/docs``, the live-exam side
(:func:`include_live_routes`) and the proctors' review workspace. On start-up (lifespan) it runs the migrations
(``auto_migrate``), seeds the demo data on first start (``seed_demo``) and starts the webhook deliverer
(``webhooks_enabled``).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from server.api import auth, college_exams, college_integrations, college_people, college_programmes
from server.api import college_reference_photos
from server.api import footprint, learning, proctor, student, surveys, teacher
from server.api import plan_check, teacher_content
from server.api import errors
from server.api import evidence as evidence_api
from server.db import migrate
from server.security import routes as security_routes
from server.security.install import install_security, protect_files
from server.security.secretbox import encrypt_stored_secrets, for_settings as secretbox_for
from server.security.webhook_targets import policy_for as webhook_policy_for
from server.db.engine import make_engine, make_sessionmaker
from server.settings import ServerSettings
from server.storage import build_stores
from server.webhooks.deliverer import Deliverer, RetryPolicy

log = logging.getLogger("server")

API_ROUTERS = [
    auth.router, student.router, learning.router, surveys.router, proctor.router, teacher.router,
    college_people.router, college_programmes.router, college_exams.router, college_integrations.router,
    footprint.router, surveys.college_router, college_reference_photos.router,
    plan_check.router, teacher_content.router,
]

WEB_COMMON = Path(__file__).resolve().parents[1] / "web_client" / "common"


class Health(BaseModel):
    ok: bool


# --- structured logs -------------------------------------------------------------------------------------
_STD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and every ``extra=`` field."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"ts": round(record.created, 3), "level": record.levelname, "logger": record.name,
                               "msg": record.getMessage()}
        for k, v in record.__dict__.items():
            if k not in _STD_ATTRS and not k.startswith("_"):
                out[k] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(settings: ServerSettings) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_proctor", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._proctor = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if settings.log_json else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())


# --- the live-exam side ----------------------------------------------------------------------------------
def include_live_routes(app: FastAPI) -> None:
    """The live-exam side (``server.live.app.install_live``): WebRTC signalling, the analysis workers, the
    recordings and the student's exam page. It works on ``app.state``'s ``settings``, ``session_factory`` and
    ``stores`` (events, sessions, recordings), and moves attempts through ``server.services.attempts``."""
    from server.live.app import install_live

    install_live(app, app.state.settings, app.state.stores)


# --- the factory ------------------------------------------------------------------------------------------
def _install_offline_docs(app: FastAPI) -> None:
    """The OpenAPI docs page at /docs with Swagger UI's files from the swagger-ui-bundle package (no CDN)."""
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    from server.security.install import DOCS_INIT_JS, docs_page

    app.mount("/docs-assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return docs_page(app.title)

    @app.get("/docs-init.js", include_in_schema=False)
    async def docs_init() -> Response:
        return Response(DOCS_INIT_JS, media_type="text/javascript")


def create_app(settings: ServerSettings | None = None, *,
               on_startup: list[Callable[[FastAPI], None]] | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    configure_logging(settings)
    settings.ensure_data_dir()
    settings.resolved_secret_key()  # generated and persisted in data_dir on first start
    secret_box = secretbox_for(settings)  # webhook secrets at rest, keyed by the secret key
    engine = make_engine(settings.resolved_database_url(), echo=settings.database_echo)
    session_factory = make_sessionmaker(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            migrate.upgrade(engine)
        protect_files(settings)
        encrypt_stored_secrets(session_factory, secret_box)
        if settings.seed_demo:
            from server.db.engine import transaction
            from server.seed import seed_demo

            log.warning("DEMO MODE: seeding the demo college with generated passwords; never use this server for "
                        "real exams")
            with transaction(session_factory) as db:
                app.state.demo = seed_demo(db, public_url=settings.resolved_public_url(),
                                           passwords=settings.demo_passwords or None)
        for fn in on_startup or []:
            fn(app)
        deliverer = None
        if settings.webhooks_enabled:
            deliverer = Deliverer(session_factory, policy=RetryPolicy(settings.webhook_max_attempts,
                                                                      settings.webhook_backoff_base_s,
                                                                      settings.webhook_backoff_max_s),
                                  timeout_s=settings.webhook_timeout_s,
                                  poll_interval_s=settings.webhook_poll_interval_s,
                                  user_agent=settings.webhook_user_agent,
                                  address_policy=webhook_policy_for(settings), secret_box=secret_box)
            deliverer.start()
        app.state.deliverer = deliverer
        log.info("server started", extra={"url": settings.resolved_public_url(),
                                          "database": engine.url.render_as_string(hide_password=True)})
        try:
            yield
        finally:
            if deliverer is not None:
                deliverer.stop()
            app.state.stores.close()  # blob spool (s3): try to drain, the rest waits on disk for the next start
            engine.dispose()

    app = FastAPI(
        title="Proctor: course and exam backend",
        version="0.1.0",
        description="Colleges' exam API (API keys), people's sign-in (tokens), proctored attempts, reviews, "
                    "the digital footprint (xAPI 1.0.3), surveys and signed webhooks. Errors are "
                    "`{\"error\": {\"code\", \"message\", \"details\"}}`.",
        openapi_url="/openapi.json",
        docs_url=None,  # served below from the swagger-ui-bundle wheel, so the page works with no internet
        redoc_url=None,
        lifespan=lifespan,
    )
    _install_offline_docs(app)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.stores = build_stores(settings, session_factory)
    app.state.demo = None
    errors.install(app)
    errors.install_fallback(app)
    install_security(app, settings)

    @app.middleware("http")
    async def access_log(request: Request, call_next: Callable[[Request], Any]) -> Response:
        t0 = time.perf_counter()
        response = await call_next(request)
        logging.getLogger("server.http").info(
            "request", extra={"method": request.method, "path": request.url.path, "status": response.status_code,
                              "ms": round((time.perf_counter() - t0) * 1000, 1)})
        return response

    @app.get("/healthz", tags=["health"], response_model=Health, summary="Liveness and database check")
    def healthz() -> dict[str, Any]:
        from sqlalchemy import text

        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"ok": True}

    for router in API_ROUTERS:
        app.include_router(router)
    app.mount("/common", StaticFiles(directory=WEB_COMMON), name="common-assets")  # the pages' shared modules
    app.include_router(security_routes.router)
    include_live_routes(app)
    # the proctors' review workspace: its pages and their API
    from server.review.routes import install_review

    install_review(app)
    # the LMS side (LTI 1.3) and the students' personal data (Law 94-V)
    from server.lti import install_lti
    from server.privacy import install_privacy

    install_lti(app)
    install_privacy(app)
    from server.staff.routes import install_staff  # the college staff's and teachers' pages

    install_staff(app)
    app.include_router(evidence_api.router)  # signed evidence: public keys, evidence export
    return app


def print_demo(info: dict[str, Any] | None, url: str, out: Any = sys.stdout) -> None:
    if not info:
        return
    print(f"\n{'!' * 78}\n!! DEMO SERVER: demo college and people, for trying Proctor out; never for real "
          f"exams\n{'!' * 78}", file=out)
    print(f"Proctor is running at {url}   (API docs: {url}/docs)", file=out)
    for login in info.get("logins", []):
        shown = login["password"] or "(set when the demo was first seeded; not stored)"
        print(f"  {login['role']:<14} {login['email']:<28} password: {shown}", file=out)
    if info.get("api_key"):
        print(f"  college API key (shown once): {info['api_key']}", file=out)
    print("", file=out)


def run(settings: ServerSettings | None = None) -> None:
    """Migrate, seed the demo data on first start, print the URL and demo logins, serve with uvicorn."""
    import uvicorn

    import os

    os.umask(0o077)  # every file the server writes (database, keys, recordings) is the owner's only
    settings = settings or ServerSettings()
    app = create_app(settings, on_startup=[lambda a: print_demo(a.state.demo, settings.resolved_public_url())])
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, loop="asyncio")


if __name__ == "__main__":  # python -m server.app
    run()
