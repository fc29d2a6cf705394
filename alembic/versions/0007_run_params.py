"""The settings and model digests each analysis run used.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Runs made before this revision did not record their settings: NULL.
    op.add_column("analysis_runs", sa.Column("params", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("analysis_runs", "params")
