"""What an analysis run needs to read only what changed since the last run: each
upserted kind (accounts, edges, posts, decisions) indexed by its change time, and a
count of the deletions of each kind (retention).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("accounts", "edges", "posts", "decisions")


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_updated_at", table, ["updated_at"])
    op.create_table(
        "deletions",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", name="pk_deletions"),
    )


def downgrade() -> None:
    op.drop_table("deletions")
    for table in TABLES:
        op.drop_index(f"ix_{table}_updated_at", table_name=table)
