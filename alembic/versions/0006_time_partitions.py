"""PostgreSQL: reports and posts partitioned by month of created_at; SQLite unchanged.

A partitioned table's unique constraints must hold its partition key, so the primary
keys become (seq, created_at) and (post_id, created_at), and the ids are kept unique
by the guard tables report_keys and post_keys. Existing rows move into monthly
partitions named as the service names them (app.db.partitions); the service creates
later months itself. reports keeps its sequence, so seq goes on where it was.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=128)

COLUMNS = {
    "reports": {
        "seq": "bigint NOT NULL DEFAULT nextval('reports_seq_seq'::regclass)",
        "event_id": "varchar(128) NOT NULL",
        "reporter_id": "varchar(128) NOT NULL",
        "target_id": "varchar(128) NOT NULL",
        "reason": "varchar(64) NOT NULL",
        "created_at": "timestamptz NOT NULL",
        "content_id": "varchar(128)",
        "text": "text",
        "ingested_at": "timestamptz NOT NULL",
    },
    "posts": {
        "post_id": "varchar(128) NOT NULL",
        "author_id": "varchar(128) NOT NULL",
        "created_at": "timestamptz NOT NULL",
        "text": "text",
        "reshare_of": "varchar(128)",
        "reply_to": "varchar(128)",
        "updated_at": "timestamptz NOT NULL",
    },
}
INDEXES = {
    "reports": {
        "ix_reports_target_created": "target_id, created_at",
        "ix_reports_reporter_created": "reporter_id, created_at",
    },
    "posts": {
        "ix_posts_author_created": "author_id, created_at",
        "ix_posts_reshare_of": "reshare_of",
    },
}
PARTITIONED_KEY = {"reports": "seq, created_at", "posts": "post_id, created_at"}
PLAIN_KEY = {"reports": "seq", "posts": "post_id"}


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _month_after(month: datetime) -> datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def _set_aside(table: str) -> str:
    """Rename ``table`` out of the way, its constraints and indices with it (their
    names are taken by the new table's); returns the new name."""
    old = f"{table}_old"
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT pk_{table} TO pk_{old}")
    if table == "reports":
        op.execute(f"ALTER TABLE {old} DROP CONSTRAINT IF EXISTS uq_reports_event_id")
    for index in INDEXES[table]:
        op.execute(f"DROP INDEX {index}")
    return old


def _create(table: str, partitioned: bool) -> None:
    key = PARTITIONED_KEY[table] if partitioned else PLAIN_KEY[table]
    constraints = f"CONSTRAINT pk_{table} PRIMARY KEY ({key})"
    if table == "reports" and not partitioned:
        constraints += ", CONSTRAINT uq_reports_event_id UNIQUE (event_id)"
    layout = " PARTITION BY RANGE (created_at)" if partitioned else ""
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS[table].items())
    op.execute(f"CREATE TABLE {table} ({columns}, {constraints}){layout}")
    for index, indexed in INDEXES[table].items():
        op.execute(f"CREATE INDEX {index} ON {table} ({indexed})")


def _partition_months(table: str, source: str) -> None:
    """A partition of ``table`` for every UTC month of the rows in ``source``."""
    months = op.get_bind().exec_driver_sql(
        f"SELECT DISTINCT date_trunc('month', created_at, 'UTC') FROM {source}"
    )
    for (month,) in months:
        start = month.astimezone(UTC)
        op.execute(
            f"CREATE TABLE {table}_p{start:%Y_%m} PARTITION OF {table} FOR VALUES "
            f"FROM ('{start.isoformat()}') TO ('{_month_after(start).isoformat()}')"
        )


def _move(table: str, partitioned: bool) -> None:
    old = _set_aside(table)
    _create(table, partitioned)
    if partitioned:
        _partition_months(table, old)
    columns = ", ".join(COLUMNS[table])
    op.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {old}")
    if table == "reports":
        op.execute("ALTER SEQUENCE reports_seq_seq OWNED BY reports.seq")
    op.execute(f"DROP TABLE {old}")


def upgrade() -> None:
    if not _postgresql():
        return
    op.create_table(
        "report_keys",
        sa.Column("event_id", ID, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_report_keys"),
    )
    op.create_table(
        "post_keys",
        sa.Column("post_id", ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("post_id", name="pk_post_keys"),
    )
    op.create_index("ix_post_keys_created_at", "post_keys", ["created_at"])
    for table in ("reports", "posts"):
        _move(table, partitioned=True)
    op.execute("INSERT INTO report_keys (event_id) SELECT event_id FROM reports")
    op.execute("INSERT INTO post_keys (post_id, created_at) SELECT post_id, created_at FROM posts")


def downgrade() -> None:
    if not _postgresql():
        return
    for table in ("reports", "posts"):
        _move(table, partitioned=False)
    op.drop_table("post_keys")
    op.drop_table("report_keys")
