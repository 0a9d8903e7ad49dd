"""The security tests (issue 12) use the backend's database fixtures (SQLite and PostgreSQL) and world."""

from backend.conftest import (  # noqa: F401  (fixtures)
    app, backend, client, db_url, empty_db_url, engine, factory, pg_server, pg_template, settings, sqlite_template,
    world,
)
