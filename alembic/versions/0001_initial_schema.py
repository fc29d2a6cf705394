"""Initial schema: ingested entities, API keys and analysis runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=128)


# Timestamps: timestamptz on PostgreSQL, integer microseconds since the epoch (UTC) on
# SQLite, which has no time type of its own (see app.db.models.UtcDateTime).
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, TIMESTAMP, nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("reporter_id", ID, nullable=False),
        sa.Column("target_id", ID, nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        _ts("created_at"),
        sa.Column("content_id", ID, nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        _ts("ingested_at"),
        sa.PrimaryKeyConstraint("seq", name="pk_reports"),
        sa.UniqueConstraint("event_id", name="uq_reports_event_id"),
    )
    op.create_index("ix_reports_target_created", "reports", ["target_id", "created_at"])
    op.create_index("ix_reports_reporter_created", "reports", ["reporter_id", "created_at"])

    op.create_table(
        "accounts",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("handle", sa.String(length=256), nullable=True),
        sa.Column("display_name", sa.String(length=512), nullable=True),
        _ts("created_at", nullable=True),
        sa.Column("followers_count", sa.BigInteger(), nullable=True),
        sa.Column("following_count", sa.BigInteger(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=True),
        sa.Column(
            "labels", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("status", sa.String(length=16), nullable=True),
        _ts("status_changed_at", nullable=True),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("account_id", name="pk_accounts"),
    )

    op.create_table(
        "edges",
        sa.Column("src", ID, nullable=False),
        sa.Column("dst", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("weight", sa.BigInteger(), nullable=False),
        _ts("created_at", nullable=True),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("src", "dst", "kind", name="pk_edges"),
    )
    op.create_index("ix_edges_dst_kind", "edges", ["dst", "kind"])

    op.create_table(
        "posts",
        sa.Column("post_id", ID, nullable=False),
        sa.Column("author_id", ID, nullable=False),
        _ts("created_at"),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("reshare_of", ID, nullable=True),
        sa.Column("reply_to", ID, nullable=True),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("post_id", name="pk_posts"),
    )
    op.create_index("ix_posts_author_created", "posts", ["author_id", "created_at"])
    op.create_index("ix_posts_reshare_of", "posts", ["reshare_of"])

    op.create_table(
        "post_mentions",
        sa.Column("post_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.PrimaryKeyConstraint("post_id", "account_id", name="pk_post_mentions"),
    )
    op.create_index("ix_post_mentions_account", "post_mentions", ["account_id"])

    op.create_table(
        "post_hashtags",
        sa.Column("post_id", ID, nullable=False),
        sa.Column("hashtag", sa.String(length=280), nullable=False),
        sa.PrimaryKeyConstraint("post_id", "hashtag", name="pk_post_hashtags"),
    )
    op.create_index("ix_post_hashtags_hashtag", "post_hashtags", ["hashtag"])

    op.create_table(
        "decisions",
        sa.Column("decision_id", ID, nullable=False),
        sa.Column("target_id", ID, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        _ts("decided_at"),
        sa.Column("content_id", ID, nullable=True),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("decision_id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_target_decided", "decisions", ["target_id", "decided_at"])

    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("lookup", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        _ts("created_at"),
        _ts("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_api_keys"),
        sa.UniqueConstraint("digest", name="uq_api_keys_digest"),
    )
    op.create_index("ix_api_keys_lookup", "api_keys", ["lookup"])

    op.create_table(
        "analysis_runs",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _ts("created_at"),
        _ts("started_at", nullable=True),
        _ts("finished_at", nullable=True),
        _ts("heartbeat_at", nullable=True),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_analysis_runs"),
    )
    op.create_index("ix_analysis_runs_status", "analysis_runs", ["status"])
    op.create_index("ix_analysis_runs_created_at", "analysis_runs", ["created_at"])


def downgrade() -> None:
    for table in (
        "analysis_runs",
        "api_keys",
        "decisions",
        "post_hashtags",
        "post_mentions",
        "posts",
        "edges",
        "accounts",
        "reports",
    ):
        op.drop_table(table)
