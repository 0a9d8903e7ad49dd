"""An app served by uvicorn on a free loopback port inside the running event loop (the live scenarios start
one or more servers this way and stop them in their own order)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """``server = await Served(app).start()``; ``server.base`` is its URL; ``await server.stop()`` ends it."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, loop="asyncio",
                                                    lifespan="on", log_level="warning"))
        self.task: asyncio.Task | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> "Served":
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():  # it could not start: say why
                self.task.result()
                raise RuntimeError("the server stopped before it started")
            await asyncio.sleep(0.05)
        return self

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task
