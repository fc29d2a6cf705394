"""AT Protocol labels the service published (``com.atproto.label.queryLabels``): the
newest signed label per labeler, subject and value.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "atproto_labels",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("src", sa.String(length=128), nullable=False),
        sa.Column("uri", sa.String(length=128), nullable=False),
        sa.Column("val", sa.String(length=128), nullable=False),
        sa.Column("neg", sa.Boolean(), nullable=False),
        sa.Column("cts", sa.String(length=32), nullable=False),
        sa.Column("sig", sa.LargeBinary(), nullable=False),
        sa.Column("signer", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_atproto_labels"),
        sa.UniqueConstraint("src", "uri", "val", name="uq_atproto_labels_src"),
        # A seq is never given out twice, even after the newest row was replaced.
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("atproto_labels")
