"""The college's reference photos: where an identity enrolment came from, who made it, an identity step's match
against the reference, and when (and by whom) a reference was replaced or deleted (rows are kept for the audit)

Revision ID: 0006_reference_photos
Revises: 0005_security
Create Date: 2026-12-04 21:55:00
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006_reference_photos'
# also merges the two heads 0002_live_score and 0004_lti_privacy (both follow 0001) so `upgrade head` works;
# the lead re-chains the revisions at merge
down_revision: str | None = '0005_security'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('identity_enrolments') as batch:
        # the engine's model version (two file names with their pins and hashes) is ~180 characters
        batch.alter_column('model', existing_type=sa.String(length=128), type_=sa.String(length=255),
                           existing_nullable=True)
        batch.add_column(sa.Column('source', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('created_by', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('match', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('retired_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('retired_by', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('identity_enrolments') as batch:
        batch.drop_column('retired_by')
        batch.drop_column('retired_at')
        batch.drop_column('match')
        batch.drop_column('created_by')
        batch.drop_column('source')
        batch.alter_column('model', existing_type=sa.String(length=255), type_=sa.String(length=128),
                           existing_nullable=True)
