"""signed evidence: the evidence_checkpoints table, and append-only triggers on session_events,
recording_segments and evidence_checkpoints (SQLite and PostgreSQL)

Revision ID: 0003_signed_evidence
Revises: 0002_live_score
Create Date: 2026-12-04 20:50:00
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

# rows of these tables are written once and never changed or deleted (the ORM refuses it too)
APPEND_ONLY = ("session_events", "recording_segments", "evidence_checkpoints")

revision: str = "0003_signed_evidence"
down_revision: str | None = "0002_live_score"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("through_seq", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["proctoring_sessions.id"],
                                name=op.f("fk_evidence_checkpoints_session_id_proctoring_sessions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_checkpoints")),
        sa.UniqueConstraint("session_id", "number", name=op.f("uq_evidence_checkpoints_session_id_number")),
    )
    _create_append_only_triggers()


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # proctor_append_only() comes with 0001 (the audit tables' triggers); made here too if it is missing
        op.execute(
            "CREATE OR REPLACE FUNCTION proctor_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$ LANGUAGE plpgsql"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION proctor_append_only()"
            )
    else:
        for table in APPEND_ONLY:
            for what in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{what.lower()} BEFORE {what} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    else:
        for table in APPEND_ONLY:
            for what in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{what}")


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_table("evidence_checkpoints")
