"""The analysing process's copy of everything stored, brought up to date at each run by
reading only what changed since the run before.

The copy (``EntityStore``) keeps each kind's rows as Arrow tables in key order. A run
reads, in one consistent snapshot of the database, the reports numbered after the newest
seen by a read that began ``MARGIN_S`` or more before the last one, and the rows of the
other kinds whose change time is later than ``MARGIN_S`` before the last read began: a
write stamps its rows in its transaction and commits later, and on PostgreSQL a write
that took lower numbers may commit after one that took higher. A row read again is the
same row, merged once. The run then counts each kind and reads its deletion count
(``deletions``, raised by retention) in the same snapshot. When a kind's deletion count
moved, or its row count differs from the copy's (an insert slower than the margin was
missed), that kind is read whole. Everything is read by the first run of a process, a
run asked to, and the first run after ``FULL_EVERY_S``, which bounds how long a change
to an existing row slower than the margin (no count shows it) could go unseen.

Both ways give the same ``Data``: the copy is the stored rows, in the same order,
however they arrived (tests/test_stored_data.py).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from app.db import snapshot
from app.db.engine import Database
from app.detection.data import Data
from app.detection.store import KINDS, EntityStore, conformed, table_of

log = logging.getLogger("mrd.analysis")
MARGIN_S = 120.0
FULL_EVERY_S = 3_600.0


@dataclass
class LoadReport:
    """How a run's data was read: ``full`` or ``changes``, why, and the rows read."""

    mode: str
    reason: str
    rows_read: dict[str, int] = field(default_factory=dict)

    def as_stats(self) -> dict[str, Any]:
        return {"mode": self.mode, "reason": self.reason, "rows_read": self.rows_read}


def _read_everything(conn: Connection, store: EntityStore) -> None:
    """Every stored row into ``store``: as whole Arrow tables where the database has a
    columnar reader (``snapshot.whole_tables``), as column batches otherwise or when
    that reader fails."""
    try:
        tables = snapshot.whole_tables(conn)
        columns = None if tables is None else {k: conformed(k, tables.pop(k)) for k in KINDS}
    except Exception as failure:  # a faster way failed: the rows are still there
        log.warning("the columnar reader failed (%s): reading the rows instead", failure)
        columns = None
    for kind in KINDS:
        rows = columns.pop(kind) if columns else table_of(kind, snapshot.every(conn, kind))
        store.replace(kind, rows)


class StoredData:
    """One process's copy of the stored entities, for its analysis runs."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.store: EntityStore | None = None
        self.full_read_at = float("-inf")
        # When the last read began (wall time, as the writers stamp their rows).
        self.read_at: datetime | None = None
        # (clock when it began, newest report sequence number) of each read, oldest
        # first.
        self.report_seqs: deque[tuple[float, int]] = deque()
        # How many times each kind's rows were deleted, at the last read.
        self.deleted: dict[str, int] = {}
        # How the last ``load`` read (for a run's stats).
        self.last: LoadReport | None = None
        self.full_asked = False

    def read_everything_next(self) -> None:
        """Make the next ``load`` read everything (a run asked to)."""
        self.full_asked = True

    def load(self, db: Database, full: bool = False) -> tuple[Data, LoadReport]:
        """The stored entities as the pipeline's columns; a full read when ``full``."""
        try:
            self.last = self._refresh(db, full or self.full_asked)
            self.full_asked = False
            assert self.store is not None
            return self.store.data(), self.last
        except BaseException:
            self.store = None  # half-merged: the next run reads everything
            raise

    def _refresh(self, db: Database, full: bool) -> LoadReport:
        reason = self._full_reason(full)
        began, began_clock = datetime.now(UTC), self.clock()
        with db.consistent_read() as conn:
            newest_seq = snapshot.newest_report_seq(conn)
            deleted = snapshot.deletions(conn)
            if reason is not None:
                self.store = None  # let the old copy go before the new one is read
                store = EntityStore()
                _read_everything(conn, store)
                self.store = store
                self.full_read_at = began_clock
                self._remember(began, began_clock, newest_seq, deleted)
                return LoadReport("full", reason, {k: store.rows(k) for k in KINDS})
            read = self._merge_changes(conn)
            assert self.store is not None
            stored = snapshot.counts(conn)
            gone = [k for k in KINDS if deleted.get(k, 0) != self.deleted.get(k, 0)]
            miscounted = [k for k in KINDS if k not in gone and stored[k] != self.store.rows(k)]
            # In this snapshot, as the changes merged with them were read.
            for kind in gone + miscounted:
                self.store.replace(kind, table_of(kind, snapshot.every(conn, kind)))
                read[kind] = self.store.rows(kind)
        self._remember(began, began_clock, newest_seq, deleted)
        if not gone + miscounted:
            return LoadReport("changes", "rows changed since the last run", read)
        # Rows deleted (retention), or a write slower than the margin missed.
        reasons = [f"rows deleted: {', '.join(gone)}"] if gone else []
        reasons += [f"row counts differed: {', '.join(miscounted)}"] if miscounted else []
        reason = "read whole after " + "; ".join(reasons)
        log.info("analysis data %s", reason)
        return LoadReport("changes", reason, read)

    def _full_reason(self, asked: bool) -> str | None:
        if asked:
            return "asked for"
        if self.store is None or self.read_at is None:
            return "first run of this process"
        if self.clock() - self.full_read_at >= FULL_EVERY_S:
            return f"{FULL_EVERY_S:.0f} s since the last full read"
        return None

    def _merge_changes(self, conn: Connection) -> dict[str, int]:
        assert self.store is not None and self.read_at is not None
        since = self.read_at - timedelta(seconds=MARGIN_S)
        changed = snapshot.changed_since(conn, self._report_seq_floor(), since)
        read = {}
        for kind in KINDS:
            table = table_of(kind, getattr(changed, kind))
            read[kind] = table.num_rows
            self.store.merge(kind, table)
        return read

    def _report_seq_floor(self) -> int:
        """The newest report number seen by the latest read that began ``MARGIN_S`` or
        more before the last one (by the oldest remembered when none did): a report
        committed after the last read was numbered after that one began."""
        last_began = self.report_seqs[-1][0]
        floor = self.report_seqs[0][1]
        for began, seq in self.report_seqs:
            if last_began - began < MARGIN_S:
                break
            floor = seq
        return floor

    def _remember(
        self, began: datetime, began_clock: float, newest_seq: int, deleted: dict[str, int]
    ) -> None:
        self.read_at = began
        self.deleted = deleted
        self.report_seqs.append((began_clock, newest_seq))
        # Only the latest read MARGIN_S before the last one is needed, and those after.
        seqs = self.report_seqs
        while len(seqs) > 1 and began_clock - seqs[1][0] >= MARGIN_S:
            seqs.popleft()
