"""What the browser tests share: Debian's Chromium (or PROCTOR_CHROMIUM), a clear failure when it is missing, and
the whole app served on uvicorn in a thread on a free loopback port for the synchronous Playwright tests."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = os.environ.get("PROCTOR_CHROMIUM", "/usr/bin/chromium")


def require_chromium() -> None:
    """Fail (never skip) the test when Chromium is not installed, saying what to install."""
    import pytest

    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium is not at {CHROMIUM}: install the Debian package (apt-get install -y chromium) "
                    "or set PROCTOR_CHROMIUM")


@contextmanager
def served(app, port: int) -> Iterator[str]:
    """Run ``app`` (its lifespan included) on 127.0.0.1:``port`` in a thread; yields its base URL."""
    import pytest
    import uvicorn

    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start")
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(30)


@contextmanager
def chromium(args: list[str]) -> Iterator[object]:
    """A headless Chromium (synchronous Playwright) with ``args``, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        try:
            yield b
        finally:
            b.close()


# The pages run under their real Content-Security-Policy (script-src 'self', no 'unsafe-eval'), which forbids
# Playwright's wait_for_function with an expression (it evaluates it with eval in the page). page.evaluate runs
# the expression through the DevTools protocol, which the CSP does not govern: these poll with it.
POLL_S = 0.1


def wait_until(page, expression: str, timeout_s: float = 30.0):
    """Poll ``expression`` (synchronous Playwright) until it is truthy; its value, or an AssertionError."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout_s} s: {expression}")
        time.sleep(POLL_S)


async def await_until(page, expression: str, timeout_s: float = 30.0):
    """The same for asynchronous Playwright."""
    import asyncio

    deadline = time.monotonic() + timeout_s
    while True:
        value = await page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout_s} s: {expression}")
        await asyncio.sleep(POLL_S)
