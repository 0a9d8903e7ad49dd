"""``proctor serve``: the whole server on one machine: migrations, the demo data with ``--demo`` (its generated
logins printed once), uvicorn on a plain asyncio loop (aiortc is not tested under uvloop). ``--host``/``--port``
override ``PROCTOR_SERVER_HOST``/``PROCTOR_SERVER_PORT``, which override the defaults."""

from __future__ import annotations

import sys

from server.settings import ServerSettings

STUDENT_PAGE = "/student/"


def serve(host: str | None = None, port: int | None = None, settings: ServerSettings | None = None,
          demo: bool = False) -> None:
    from server.app import run

    settings = settings or ServerSettings()
    updates = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if demo:
        updates["seed_demo"] = True
        print("DEMO MODE: a demo college with generated passwords; never use this server for real exams",
              file=sys.stdout, flush=True)
    if updates:
        settings = settings.model_copy(update=updates)
    print(f"Student exam page: {settings.resolved_public_url()}{STUDENT_PAGE}", file=sys.stdout, flush=True)
    print(f"Proctor review page: {settings.resolved_public_url()}/review/", file=sys.stdout, flush=True)
    run(settings)


if __name__ == "__main__":
    serve()
