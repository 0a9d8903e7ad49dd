"""Migrations from an empty database, the ORM metadata against the migrated schema, and the append-only
triggers the migration installs."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from server.db import migrate
from server.db.base import Base
from server.db.engine import make_engine, transaction
from server.db.guards import AppendOnlyViolation
from server.db.models import Activity


def test_upgrade_from_empty_matches_the_models(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        assert migrate.current_revision(engine) is None
        assert inspect(engine).get_table_names() == []
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert migrate.schema_diff(engine) == []
    finally:
        engine.dispose()


def test_downgrade_to_empty_and_up_again(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        migrate.upgrade(engine)
        migrate.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine)
        assert migrate.schema_diff(engine) == []
    finally:
        engine.dispose()


def test_schema_diff_sees_a_drift(db_url: str) -> None:
    """The comparison is not vacuous: a column the models lack shows up as a difference."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE colleges ADD COLUMN stray INTEGER"))
        diff = migrate.schema_diff(engine)
        assert any(d[0] == "remove_column" and d[2] == "colleges" and d[3].name == "stray" for d in diff), diff
    finally:
        engine.dispose()


def _activity(db, world) -> Activity:
    row = Activity(college_id=world.college_id, actor_id=world.users["alice"], verb="signed_in", object_type="lms",
                   object_id="proctor")
    db.add(row)
    db.flush()
    return row


def test_footprint_is_append_only_in_the_orm_and_the_database(factory, world) -> None:
    with transaction(factory) as db:
        row_id = _activity(db, world).id
    with pytest.raises(AppendOnlyViolation):
        with transaction(factory) as db:
            db.get(Activity, row_id).verb = "signed_out"
    with pytest.raises(AppendOnlyViolation):
        with transaction(factory) as db:
            db.delete(db.get(Activity, row_id))
    # below the ORM, the database's trigger refuses too
    for sql in ("UPDATE activities SET verb = 'signed_out'", "DELETE FROM activities"):
        with pytest.raises(DBAPIError, match="append-only"):
            with transaction(factory) as db:
                db.execute(text(sql))
    with transaction(factory) as db:
        assert db.get(Activity, row_id).verb == "signed_in"


def test_missing_postgres_binaries_fail_with_a_clear_message(monkeypatch) -> None:
    """Without Debian's postgresql the fixture fails (never skips) and says what to install."""
    from server.cluster import postgres as pgserver

    monkeypatch.setattr(pgserver, "PG_BIN_CANDIDATES", ["/nonexistent/bin"])
    monkeypatch.setattr(pgserver.shutil, "which", lambda _name: None)
    with pytest.raises(pgserver.PostgresUnavailable, match="apt-get install -y postgresql"):
        pgserver.find_pg_bin()
