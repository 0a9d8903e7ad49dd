"""One request body limit for every route: an ASGI middleware that answers 413 when the declared
``Content-Length`` is too large, and counts the bytes actually received (chunked bodies, lying headers), so no
endpoint ever reads or parses more than the limit."""

from __future__ import annotations

import json
import re
from typing import Any, Awaitable, Callable

from server.api.errors import ApiError

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyTooLarge(ApiError):
    def __init__(self, limit: int):
        super().__init__(413, "body_too_large", f"the request body is larger than {limit} bytes",
                         {"max_bytes": limit})
        self.limit = limit


class BodyLimitMiddleware:
    """``limit`` bytes for every request, except paths matching an ``overrides`` pattern (their own limit)."""

    def __init__(self, app: Any, limit: int, overrides: list[tuple[str, int]] | None = None):
        self.app = app
        self.limit = limit
        self.overrides = [(re.compile(p), n) for p, n in overrides or []]

    def limit_for(self, path: str) -> int:
        for pattern, n in self.overrides:
            if pattern.fullmatch(path):
                return n
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _reply_413(send, limit)
            return
        received = 0
        started = exceeded = replaced = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            # an endpoint that turned the error into its own answer (e.g. FastAPI's 400 "error parsing the
            # body") is answered 413 all the same
            nonlocal started, replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                if exceeded:
                    replaced = started = True
                    await _reply_413(send, limit)
                    return
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _reply_413(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _reply_413(send: Send, limit: int) -> None:
    body = json.dumps({"error": {"code": "body_too_large", "message": f"the request body is larger than {limit} bytes",
                                 "details": {"max_bytes": limit}}}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
