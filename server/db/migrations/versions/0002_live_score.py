"""the integrity score's recommendation and breakdown kept with the proctoring session (live sessions are scored
when they end, as offline imports are)

Revision ID: 0002_live_score
Revises: 0001
Create Date: 2026-12-04 21:00:00
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002_live_score'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('proctoring_sessions', sa.Column('score_recommendation', sa.String(length=16), nullable=True))
    op.add_column('proctoring_sessions', sa.Column('score_breakdown', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('proctoring_sessions') as batch:
        batch.drop_column('score_breakdown')
        batch.drop_column('score_recommendation')
