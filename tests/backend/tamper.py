"""An attacker with write access to the database: the append-only triggers are out of the way for one
transaction (dropped and put back on SQLite, switched off for the session on PostgreSQL, as its owner can),
and the ORM's append-only guard is bypassed by writing SQL statements instead of changing ORM objects."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from server.db.engine import is_sqlite, transaction


@contextmanager
def attacker(factory: sessionmaker[Session]) -> Iterator[Session]:
    with transaction(factory) as db:
        if is_sqlite(db):
            triggers = db.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
            for name, _sql in triggers:
                db.execute(text(f'DROP TRIGGER "{name}"'))
            yield db
            db.flush()
            for _name, sql in triggers:
                db.execute(text(sql))
        else:
            db.execute(text("SET LOCAL session_replication_role = replica"))
            yield db
