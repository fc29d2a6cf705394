"""Retention: events older than ``MRD_RETENTION_DAYS`` are deleted.

Reports, posts (with their mentions and hashtags) and moderator decisions are events
and age out (each deletion counted in ``deletions``, for the analysing process's copy
of the stored entities); accounts and graph edges are the state of the platform and stay. The
reports are deleted in windows of their sequence number, so each statement is a
primary-key range and each transaction short (SQLite's writer and the ingest it
serves never wait long), and one pass reads the table once. A pass runs in the
background process at start and then every ``PASS_INTERVAL_S``; the analysis that
follows sees only what is kept.

On PostgreSQL, where reports and posts are partitioned by month, the partitions wholly
older than the limit are dropped; only the month the limit falls in is deleted row by
row, and each deleted row's key goes from its guard table in the same statement. The
same pass keeps the partitions of the coming months ready, with or without a limit.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import Connection, delete, func, select, text

from app.db.engine import Database
from app.db.ingest_repository import note_deletion
from app.db.models import Decision, Post, PostHashtag, PostMention, Report
from app.db.partitions import PARTITIONED
from app.services.periodic import PeriodicWorker

log = logging.getLogger("mrd.retention")
PASS_INTERVAL_S = 3_600.0
SEQ_WINDOW = 50_000


def apply_retention(db: Database, days: float, now: datetime | None = None) -> dict[str, int]:
    """Delete the events older than ``days`` before ``now``; how many rows of each kind."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    deleted = {"reports": 0, "posts": 0, "decisions": 0}
    if db.partitions is not None:
        for table in PARTITIONED:
            if not db.partitions.to_drop(table, cutoff):
                continue
            # Counted before and after: a partition leaves outside a transaction.
            noted = partial(note_deletion, kind=table)
            db.run_write(noted)
            try:
                deleted[table] += db.partitions.drop_before(table, cutoff)
            finally:
                db.run_write(noted)
    with db.engine.connect() as conn:
        last = conn.scalar(select(func.max(Report.seq))) or 0
    for start in range(0, last + 1, SEQ_WINDOW):

        def window(conn: Connection, start: int = start) -> int:
            gone = _delete_reports(conn, start, start + SEQ_WINDOW, cutoff)
            if gone:
                note_deletion(conn, "reports")
            return gone

        deleted["reports"] += db.run_write(window)

    def posts_and_decisions(conn: Connection) -> None:
        if gone := _delete_posts(conn, cutoff):
            deleted["posts"] += gone
            note_deletion(conn, "posts")
        deleted["decisions"] = int(
            conn.execute(delete(Decision).where(Decision.decided_at < cutoff)).rowcount
        )
        if deleted["decisions"]:
            note_deletion(conn, "decisions")

    db.run_write(posts_and_decisions)
    return deleted


def _delete_reports(conn: Connection, first: int, end: int, cutoff: datetime) -> int:
    """Delete the reports older than ``cutoff`` with ``first <= seq < end``."""
    if conn.dialect.name == "postgresql":
        return int(
            conn.execute(
                text(
                    "WITH gone AS (DELETE FROM reports WHERE seq >= :first AND seq < :end"
                    " AND created_at < :cutoff RETURNING event_id),"
                    " keys AS (DELETE FROM report_keys"
                    " WHERE event_id IN (SELECT event_id FROM gone))"
                    " SELECT count(*) FROM gone"
                ),
                {"first": first, "end": end, "cutoff": cutoff},
            ).scalar_one()
        )
    return int(
        conn.execute(
            delete(Report).where(Report.seq >= first, Report.seq < end, Report.created_at < cutoff)
        ).rowcount
    )


def _delete_posts(conn: Connection, cutoff: datetime) -> int:
    """Delete the posts older than ``cutoff`` with their mentions and hashtags."""
    if conn.dialect.name == "postgresql":
        # From the keys, which ingest locks first too: neither waits for the other
        # while holding what the other needs.
        return int(
            conn.execute(
                text(
                    "WITH gone AS (DELETE FROM post_keys WHERE created_at < :cutoff"
                    " RETURNING post_id, created_at),"
                    " mentions AS (DELETE FROM post_mentions"
                    " WHERE post_id IN (SELECT post_id FROM gone)),"
                    " hashtags AS (DELETE FROM post_hashtags"
                    " WHERE post_id IN (SELECT post_id FROM gone)),"
                    " removed AS (DELETE FROM posts USING gone"
                    " WHERE posts.post_id = gone.post_id AND posts.created_at = gone.created_at"
                    " RETURNING 1)"
                    " SELECT count(*) FROM removed"
                ),
                {"cutoff": cutoff},
            ).scalar_one()
        )
    old_posts = select(Post.post_id).where(Post.created_at < cutoff)
    conn.execute(delete(PostMention).where(PostMention.post_id.in_(old_posts)))
    conn.execute(delete(PostHashtag).where(PostHashtag.post_id.in_(old_posts)))
    return int(conn.execute(delete(Post).where(Post.created_at < cutoff)).rowcount)


class RetentionKeeper(PeriodicWorker):
    """The background thread that, every ``PASS_INTERVAL_S``, keeps PostgreSQL's
    partitions of the coming months ready and, with ``days``, applies retention."""

    name = "retention"
    log = log
    failure = "retention error"

    def __init__(self, db: Database, days: float | None) -> None:
        self.db, self.days = db, days
        super().__init__()

    def pause(self, spent: float) -> float:
        return PASS_INTERVAL_S

    def work(self) -> None:
        if self.db.partitions is not None:
            self.db.partitions.keep_ahead(datetime.now(UTC))
        if self.days:
            deleted = apply_retention(self.db, self.days)
            if any(deleted.values()):
                log.info("retention (%g days): deleted %s", self.days, deleted)
