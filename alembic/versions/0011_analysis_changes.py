"""The fast path's updates of a published run, numbered: a revision per run and the
targets each revision rewrote, so every process's enforcement index re-reads only
those; and an index to find the newest succeeded run, which every process looks up
several times a second.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("analysis_runs") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), server_default="0", nullable=False))
    op.create_index("ix_analysis_runs_status_finished", "analysis_runs", ["status", "finished_at"])
    op.create_table(
        "analysis_changes",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "revision", "target_id", name="pk_analysis_changes"),
    )


def downgrade() -> None:
    op.drop_table("analysis_changes")
    op.drop_index("ix_analysis_runs_status_finished", table_name="analysis_runs")
    with op.batch_alter_table("analysis_runs") as batch:
        batch.drop_column("revision")
