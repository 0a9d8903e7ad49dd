"""What the cluster tests share: a PostgreSQL server of their own (started from Debian's binaries, stopped after
the module), for the tests of background work that must run once across nodes."""

from __future__ import annotations

from typing import Iterator

import pytest

from server.cluster.postgres import PgServer, PostgresUnavailable, start_server


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    try:
        server = start_server()
    except PostgresUnavailable as exc:
        pytest.fail(f"this test needs a PostgreSQL server: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
