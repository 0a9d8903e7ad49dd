"""``proctor serve``: the whole server on one machine: migrations, the demo data on first start, the URL and the
demo logins printed, uvicorn on a plain asyncio loop (aiortc is not tested under uvloop)."""

from __future__ import annotations

import sys

from server.settings import ServerSettings

STUDENT_PAGE = "/student/"


def serve(host: str | None = None, port: int | None = None, settings: ServerSettings | None = None) -> None:
    from server.app import run

    settings = settings or ServerSettings()
    updates = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if updates:
        settings = settings.model_copy(update=updates)
    print(f"Student exam page: {settings.resolved_public_url()}{STUDENT_PAGE}", file=sys.stdout, flush=True)
    print(f"Proctor review page: {settings.resolved_public_url()}/review/", file=sys.stdout, flush=True)
    run(settings)


if __name__ == "__main__":
    serve()
