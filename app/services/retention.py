"""Retention: events older than ``MRD_RETENTION_DAYS`` are deleted.

Reports, posts (with their mentions and hashtags) and moderator decisions are events
and age out; accounts and graph edges are the state of the platform and stay. The
reports are deleted in windows of their sequence number, so each statement is a
primary-key range and each transaction short (SQLite's writer and the ingest it
serves never wait long), and one pass reads the table once. A pass runs in the
background process at start and then every ``PASS_INTERVAL_S``; the analysis that
follows sees only what is kept.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, func, select

from app.db.engine import Database
from app.db.models import Decision, Post, PostHashtag, PostMention, Report

log = logging.getLogger("mrd.retention")
PASS_INTERVAL_S = 3_600.0
SEQ_WINDOW = 50_000


def apply_retention(db: Database, days: float, now: datetime | None = None) -> dict[str, int]:
    """Delete the events older than ``days`` before ``now``; how many rows of each kind."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    deleted = {"reports": 0, "posts": 0, "decisions": 0}
    with db.engine.connect() as conn:
        last = conn.scalar(select(func.max(Report.seq))) or 0
    for start in range(0, last + 1, SEQ_WINDOW):

        def window(conn: Connection, start: int = start) -> int:
            return int(
                conn.execute(
                    delete(Report).where(
                        Report.seq >= start,
                        Report.seq < start + SEQ_WINDOW,
                        Report.created_at < cutoff,
                    )
                ).rowcount
            )

        deleted["reports"] += db.run_write(window)

    def posts_and_decisions(conn: Connection) -> None:
        old_posts = select(Post.post_id).where(Post.created_at < cutoff)
        conn.execute(delete(PostMention).where(PostMention.post_id.in_(old_posts)))
        conn.execute(delete(PostHashtag).where(PostHashtag.post_id.in_(old_posts)))
        deleted["posts"] = int(conn.execute(delete(Post).where(Post.created_at < cutoff)).rowcount)
        deleted["decisions"] = int(
            conn.execute(delete(Decision).where(Decision.decided_at < cutoff)).rowcount
        )

    db.run_write(posts_and_decisions)
    return deleted


class RetentionKeeper:
    """The background thread that applies retention every ``PASS_INTERVAL_S``."""

    def __init__(self, db: Database, days: float) -> None:
        self.db, self.days = db, days
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mrd-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                deleted = apply_retention(self.db, self.days)
                if any(deleted.values()):
                    log.info("retention (%g days): deleted %s", self.days, deleted)
            except Exception:
                log.exception("retention error")
            self._stop.wait(PASS_INTERVAL_S)
