"""Database layer: SQLAlchemy 2 ORM models, engine and session helpers, Alembic migrations."""

from server.db.base import Base
from server.db.engine import make_engine, make_sessionmaker, transaction

__all__ = ["Base", "make_engine", "make_sessionmaker", "transaction"]
