"""The review API tests run on SQLite and PostgreSQL with the backend's database fixtures."""

from backend.conftest import (  # noqa: F401  (fixtures)
    app, backend, client, db_url, engine, factory, pg_server, pg_template, settings, sqlite_template, world,
)
