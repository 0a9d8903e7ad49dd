"""security hardening (issue 12): API key scopes, webhook secrets long enough to be stored encrypted, e-mail
addresses unique per college (not across colleges).

The encryption of existing webhook secrets needs the server's key, which is not in the database: it is done
at start-up (server.security.secretbox.encrypt_stored_secrets), after the migrations.

SQLite cannot drop a table's UNIQUE constraint, so ``users`` is rebuilt; its rows are referenced by other
tables with ON DELETE CASCADE, and a DROP TABLE with foreign keys on would delete them, so foreign keys are
switched off around the rebuild (a PRAGMA that only takes effect outside a transaction).

Revision ID: 0005_security
Revises: 0004_lti_privacy
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_security"
down_revision: str | None = "0004_lti_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALL_SCOPES = '["people:read", "people:write", "curriculum:read", "curriculum:write", "exams:read", "exams:write", ' \
             '"webhooks:read", "webhooks:write", "footprint:read", "footprint:write", "surveys:read", "surveys:write", ' \
             '"lti:read", "lti:write", "privacy:read", "privacy:write"]'


def _sqlite_foreign_keys(on: bool) -> None:
    bind = op.get_bind()
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    bind.exec_driver_sql("BEGIN")


def _email_unique(b: object, per_college: bool) -> None:
    if per_college:
        b.drop_constraint("uq_users_email", type_="unique")
        b.create_unique_constraint("uq_users_college_id_email", ["college_id", "email"])
    else:
        b.drop_constraint("uq_users_college_id_email", type_="unique")
        b.create_unique_constraint("uq_users_email", ["email"])


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _sqlite_foreign_keys(False)
    with op.batch_alter_table("api_keys") as b:
        b.add_column(sa.Column("scopes", sa.JSON(), nullable=False, server_default=sa.text(f"'{ALL_SCOPES}'")))
    with op.batch_alter_table("webhook_endpoints") as b:
        b.alter_column("secret", existing_type=sa.String(128), type_=sa.String(512), existing_nullable=False)
    with op.batch_alter_table("users", recreate="always" if sqlite else "auto") as b:
        _email_unique(b, per_college=True)
    if sqlite:
        _sqlite_foreign_keys(True)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _sqlite_foreign_keys(False)
    with op.batch_alter_table("users", recreate="always" if sqlite else "auto") as b:
        _email_unique(b, per_college=False)
    with op.batch_alter_table("webhook_endpoints") as b:
        b.alter_column("secret", existing_type=sa.String(512), type_=sa.String(128), existing_nullable=False)
    with op.batch_alter_table("api_keys") as b:
        b.drop_column("scopes")
    if sqlite:
        _sqlite_foreign_keys(True)
