"""What the cluster tests share: a PostgreSQL server of their own (started from Debian's binaries, stopped after
the module), for the tests of background work that must run once across nodes."""

from __future__ import annotations

from typing import Iterator

import pytest

from server.cluster.postgres import PgServer, PostgresUnavailable, start_server
from servers import started


@pytest.fixture(scope="module")
def pg() -> Iterator[PgServer]:
    with started(start_server, PgServer.stop, PostgresUnavailable, "this test needs a PostgreSQL server") as server:
        yield server
