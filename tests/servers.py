"""The servers the tests start themselves (PostgreSQL, SeaweedFS): started for a fixture's scope, or a clear
failure (never a skip) saying what is missing."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")


@contextmanager
def started(start: Callable[[], T], stop: Callable[[T], None], unavailable: type[Exception], need: str) -> Iterator[T]:
    """The server ``start()`` returns, stopped with ``stop`` afterwards; the test fails naming ``need`` when
    ``start`` raises ``unavailable``."""
    import pytest

    try:
        server = start()
    except unavailable as exc:
        pytest.fail(f"{need}: {exc}", pytrace=False)
    try:
        yield server
    finally:
        stop(server)
