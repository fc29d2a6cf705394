"""Each analysed account's tier, so the targets listing can leave out the network's own
officials and institutions that are only reported organically.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows of runs made before this revision: NULL, listed as before.
    op.add_column("analysis_accounts", sa.Column("tier", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("analysis_accounts", "tier")
