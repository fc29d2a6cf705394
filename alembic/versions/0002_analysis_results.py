"""Analysis results (waves, groups, account risks per run) and the runner's lease.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")
RUN = sa.String(length=36)


def upgrade() -> None:
    op.create_table(
        "analysis_waves",
        sa.Column("run_id", RUN, nullable=False),
        sa.Column("wave_id", sa.String(length=48), nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("start", TIMESTAMP, nullable=False),
        sa.Column("end", TIMESTAMP, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "wave_id", name="pk_analysis_waves"),
    )
    op.create_index("ix_analysis_waves_run_target", "analysis_waves", ["run_id", "target_id"])
    op.create_index("ix_analysis_waves_run_start", "analysis_waves", ["run_id", "start"])
    op.create_table(
        "analysis_groups",
        sa.Column("run_id", RUN, nullable=False),
        sa.Column("group_id", sa.String(length=48), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "group_id", name="pk_analysis_groups"),
    )
    op.create_table(
        "analysis_accounts",
        sa.Column("run_id", RUN, nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("reporter_risk", sa.Float(), nullable=False),
        sa.Column("target_risk", sa.Float(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "account_id", name="pk_analysis_accounts"),
    )
    op.create_index(
        "ix_analysis_accounts_run_target_risk", "analysis_accounts", ["run_id", "target_risk"]
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )


def downgrade() -> None:
    for table in ("leases", "analysis_accounts", "analysis_groups", "analysis_waves"):
        op.drop_table(table)
