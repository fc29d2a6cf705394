"""Monthly time partitions of ``reports`` and ``posts`` on PostgreSQL.

Both tables are ``PARTITION BY RANGE (created_at)``, one partition per UTC month
(``reports_p2026_11``), so retention drops a month at once instead of deleting its rows
one by one. A row needs its month's partition before it arrives: ingest creates the
months of a batch on demand (a backfill of old data) and the background process keeps
the current month and ``MONTHS_AHEAD`` after it ready. There is no default partition:
rows in it would keep their month from being created later.

A partition is created as a table of its own and then attached: ``ATTACH PARTITION``
takes a lock on the parent that reads and writes do not conflict with, where ``CREATE
TABLE ... PARTITION OF`` waits for every open read of the parent (an analysis reads all
reports for a while) and ingest would queue behind it. For the same reason an old
partition is detached ``CONCURRENTLY`` before it is dropped. Creating and dropping the
partitions of a table are serialised between processes by an advisory lock.
"""

from __future__ import annotations

import logging
import re
import threading
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from psycopg.errors import CheckViolation
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

log = logging.getLogger("mrd.partitions")
PARTITIONED = ("reports", "posts")
MONTHS_AHEAD = 3
_NAME = re.compile(rf"^({'|'.join(PARTITIONED)})_p(\d{{4}})_(\d{{2}})$")

# What the rows of a dropped partition leave behind: their keys in the guard table
# and, for posts, their mentions and hashtags. A post's key is released only if it
# still names this month: a post re-sent with another time meanwhile lives elsewhere.
_RELEASE = {
    "reports": "DELETE FROM report_keys WHERE event_id IN (SELECT event_id FROM {partition})",
    "posts": (
        "WITH gone AS (DELETE FROM post_keys k USING {partition} p"
        " WHERE k.post_id = p.post_id AND k.created_at = p.created_at RETURNING k.post_id),"
        " mentions AS (DELETE FROM post_mentions WHERE post_id IN (SELECT post_id FROM gone))"
        " DELETE FROM post_hashtags WHERE post_id IN (SELECT post_id FROM gone)"
    ),
}


def month_of(moment: datetime) -> date:
    """The first day of ``moment``'s month in UTC."""
    utc = moment.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y_%m}"


def parent_of(relation: str) -> str:
    """The partitioned table a partition's name belongs to (any other name unchanged)."""
    named = _NAME.match(relation)
    return named.group(1) if named else relation


def missing_partition(error: IntegrityError) -> bool:
    """Whether a write failed for want of its month's partition (the partitioned tables
    have no check constraints, so a check violation there means exactly that)."""
    return isinstance(error.orig, CheckViolation)


def _lock_key(table: str) -> int:
    return zlib.crc32(f"mrd partitions of {table}".encode()) & 0x7FFFFFFF


def _lock(conn: Connection, table: str) -> None:
    """Wait for the transaction-scoped lock on ``table``'s partitions."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(table)})


@dataclass(frozen=True)
class Partition:
    """A monthly partition of ``table``: attached, or on its way out: ``detaching``
    (a concurrent detach under way or interrupted) or ``detached`` (not dropped yet)."""

    table: str
    month: date
    state: Literal["attached", "detaching", "detached"]

    @property
    def name(self) -> str:
        return partition_name(self.table, self.month)


def partitions(conn: Connection, table: str) -> list[Partition]:
    """The monthly partitions of ``table``, with those a retention pass left half-done."""
    rows = conn.execute(
        text(
            "SELECT c.relname, i.inhrelid IS NOT NULL, coalesce(i.inhdetachpending, false)"
            " FROM pg_class c LEFT JOIN pg_inherits i"
            " ON i.inhrelid = c.oid AND i.inhparent = CAST(:table AS regclass)"
            " WHERE c.relkind = 'r' AND c.relnamespace = CAST(current_schema() AS regnamespace)"
            " AND c.relname ~ :pattern ORDER BY c.relname"
        ),
        {"table": table, "pattern": rf"^{table}_p\d{{4}}_\d{{2}}$"},
    )
    found = []
    for name, attached, pending in rows:
        named = _NAME.match(name)
        assert named is not None
        state: Literal["attached", "detaching", "detached"] = (
            "detaching" if pending else "attached" if attached else "detached"
        )
        found.append(Partition(table, date(int(named.group(2)), int(named.group(3)), 1), state))
    return found


class Partitions:
    """The partitions of one PostgreSQL database, and the months this process knows to
    exist, so the ingest hot path asks the database nothing in the common case."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._known: set[tuple[str, date]] = set()
        self._guard = threading.Lock()

    def ensure(self, table: str, months: Iterable[date]) -> None:
        """Make sure ``table`` has a partition for each of ``months``."""
        missing = {month for month in months if (table, month) not in self._known}
        if missing:
            self._create_missing(table, missing)

    def recheck(self, table: str, months: Iterable[date]) -> None:
        """Like ``ensure``, after a write found a partition missing that this process
        believed in (another process's retention dropped it): asks the database, once
        any drop under way there has finished."""
        self.forget(table)
        self._create_missing(table, set(months), settle=True)

    def forget(self, table: str) -> None:
        """Drop what this process believes about ``table``'s partitions."""
        with self._guard:
            self._known = {known for known in self._known if known[0] != table}

    def keep_ahead(self, now: datetime) -> None:
        """The current month and ``MONTHS_AHEAD`` after it, for every partitioned table;
        asks the database, not this process's memory."""
        months = [month_of(now)]
        for _ in range(MONTHS_AHEAD):
            months.append(next_month(months[-1]))
        for table in PARTITIONED:
            self._create_missing(table, set(months))

    def to_drop(self, table: str, cutoff: datetime) -> bool:
        """Whether ``drop_before`` has a partition to drop or to finish dropping."""
        with self._engine.connect() as conn:
            return any(_to_drop(partition, cutoff) for partition in partitions(conn, table))

    def drop_before(self, table: str, cutoff: datetime) -> int:
        """Drop the partitions of ``table`` wholly older than ``cutoff``; how many rows
        they held. Partitions a pass left half-dropped are finished as well."""
        rows = 0
        # DETACH ... CONCURRENTLY runs outside a transaction, so the lock is the session's.
        engine = self._engine.execution_options(isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            key = {"key": _lock_key(table)}
            conn.execute(text("SELECT pg_advisory_lock(:key)"), key)
            try:
                # Half-dropped ones first: while one is pending detach, no other can start.
                found = partitions(conn, table)
                for partition in sorted(found, key=lambda p: p.state == "attached"):
                    if _to_drop(partition, cutoff):
                        rows += _drop(conn, partition)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), key)
        self.forget(table)
        return rows

    def _create_missing(self, table: str, months: set[date], settle: bool = False) -> None:
        with self._engine.connect() as conn:
            if settle:
                _lock(conn, table)  # a drop under way in another process finishes first
            present = {p.month for p in partitions(conn, table) if p.state == "attached"}
            conn.rollback()
            for month in sorted(months - present):
                with conn.begin():
                    _create(conn, table, month)
        with self._guard:
            self._known |= {(table, month) for month in months}


def _to_drop(partition: Partition, cutoff: datetime) -> bool:
    """Half-dropped, or wholly older than ``cutoff``."""
    return partition.state != "attached" or month_start(next_month(partition.month)) <= cutoff


def _drop(conn: Connection, partition: Partition) -> int:
    """Detach ``partition``, let go of its rows' keys, drop it; how many rows it held."""
    table, name = partition.table, partition.name
    if partition.state == "attached":
        conn.exec_driver_sql(f"ALTER TABLE {table} DETACH PARTITION {name} CONCURRENTLY")
    elif partition.state == "detaching":
        conn.exec_driver_sql(f"ALTER TABLE {table} DETACH PARTITION {name} FINALIZE")
    rows = int(conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one())
    conn.exec_driver_sql(_RELEASE[table].format(partition=name))
    conn.exec_driver_sql(f"DROP TABLE {name}")
    log.info("dropped partition %s (%d rows)", name, rows)
    return rows


def _create(conn: Connection, table: str, month: date) -> None:
    """One month's partition, unless another process made it while we waited."""
    _lock(conn, table)
    for partition in partitions(conn, table):
        if partition.month == month and partition.state == "attached":
            return
        if partition.month == month:
            _drop(conn, partition)  # left half-dropped by an interrupted retention pass
    name = partition_name(table, month)
    conn.exec_driver_sql(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)")
    conn.exec_driver_sql(
        f"ALTER TABLE {table} ATTACH PARTITION {name} "
        f"FOR VALUES FROM ('{month_start(month).isoformat()}')"
        f" TO ('{month_start(next_month(month)).isoformat()}')"
    )
    log.info("created partition %s", name)
