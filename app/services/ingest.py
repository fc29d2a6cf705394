"""Ingest: validate a batch, shape rows, store them in one transaction.

The caller answers only after :func:`ingest_batch` returns, i.e. after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from app.db import ingest_repository as repo
from app.db.engine import Database
from app.db.partitions import missing_partition, month_of
from app.entities import (
    ACCOUNTS,
    DECISIONS,
    EDGES,
    POSTS,
    REPORTS,
    EntityKind,
    validate_batch,
)


@dataclass
class IngestResult:
    """What happened to a batch: stored, already known, and refused items."""

    accepted: int
    duplicates: int
    rejected: list[dict[str, Any]] = field(default_factory=list)
    # Re-sent event ids with other content (listed in ``rejected`` too).
    conflicts: int = 0

    def answer(self, kind: EntityKind) -> dict[str, Any]:
        if kind.counts_duplicates:
            return {
                "accepted": self.accepted,
                "duplicates": self.duplicates,
                "rejected": self.rejected,
            }
        return {"accepted": self.accepted, "rejected": self.rejected}


@dataclass(frozen=True)
class _Writer:
    """How validated items of one kind become rows and are written."""

    prepare: repo.Preparer
    stamp: str
    defaults: dict[str, Any] = field(default_factory=dict)
    # The table partitioned by created_at on PostgreSQL that the rows go to.
    partitioned: str | None = None


_WRITERS: dict[str, _Writer] = {
    REPORTS.name: _Writer(repo.insert_reports, "ingested_at", partitioned="reports"),
    ACCOUNTS.name: _Writer(repo.stamped_in_transaction(repo.upsert_accounts), "updated_at"),
    EDGES.name: _Writer(
        repo.stamped_in_transaction(repo.upsert_edges), "updated_at", {"weight": 1}
    ),
    POSTS.name: _Writer(
        repo.stamped_in_transaction(repo.upsert_posts), "updated_at", partitioned="posts"
    ),
    DECISIONS.name: _Writer(repo.stamped_in_transaction(repo.upsert_decisions), "updated_at"),
}


def _row_template(kind: EntityKind) -> dict[str, Any]:
    """Every optional field present (bulk statements need the same keys in each row)."""
    optional: frozenset[str] = kind.item_type.__optional_keys__  # type: ignore[attr-defined]
    return dict.fromkeys(sorted(optional)) | _WRITERS[kind.name].defaults


def _unique_rows(kind: EntityKind, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per key. Reports keep the first copy (a re-sent event is a duplicate);
    upserted entities merge copies in order, later non-null values winning, exactly as
    if they had been sent one after another."""
    merged: dict[Any, dict[str, Any]] = {}
    for item in items:
        key = kind.key(item)
        if key not in merged:
            merged[key] = item
        elif kind is not REPORTS:
            merged[key] = merged[key] | {k: v for k, v in item.items() if v is not None}
    return list(merged.values())


def ingest_batch(
    db: Database,
    kind: EntityKind,
    raw_items: Sequence[Any],
    future_tolerance_s: float,
) -> IngestResult:
    """Validate and store one batch; valid items are committed even if others fail."""
    now = datetime.now(UTC)
    batch = validate_batch(kind, raw_items, now, future_tolerance_s)
    writer = _WRITERS[kind.name]
    template = _row_template(kind)
    rows = [template | item | {writer.stamp: now} for item in _unique_rows(kind, batch.items)]
    written = _write(db, writer, rows) if rows else 0
    conflicts = []
    if kind is REPORTS and written < len(batch.items):
        conflicts = _report_conflicts(db, batch.items, batch.indices)
    rejected = sorted(batch.rejected + conflicts, key=lambda r: int(r["index"]))
    if kind.counts_duplicates:
        duplicates = len(batch.items) - written - len(conflicts)
        return IngestResult(written, duplicates, rejected, len(conflicts))
    return IngestResult(len(batch.items), 0, rejected)


CONFLICT_MESSAGE = (
    "a report with this event_id is already stored with other content; reports are "
    "never changed: send a new event_id"
)


def _report_conflicts(
    db: Database, items: list[dict[str, Any]], indices: list[int]
) -> list[dict[str, Any]]:
    """Items whose ``event_id`` is stored with other content, as rejections. A re-sent
    report is a duplicate only when it is the same report: otherwise a client that
    guessed someone's event ids could silently suppress their reports."""
    with db.engine.connect() as conn:
        stored = repo.stored_reports(conn, sorted({item["event_id"] for item in items}))
    found = []
    for index, item in zip(indices, items, strict=True):
        kept = stored.get(item["event_id"])
        if kept is not None and kept != tuple(item.get(f) for f in repo.REPORT_CONTENT):
            found.append(
                {"index": index, "errors": [{"loc": ["event_id"], "msg": CONFLICT_MESSAGE}]}
            )
    return found


def _write(db: Database, writer: _Writer, rows: list[dict[str, Any]]) -> int:
    """Write ``rows`` in one transaction. On PostgreSQL the partitions of their months
    are made to exist first; if another process's retention dropped one this process
    believed in, the write fails without it and is tried once more."""
    write = writer.prepare(db.dialect, rows)
    partitions, table = db.partitions, writer.partitioned
    if partitions is None or table is None:
        return db.run_write(write)
    months = {month_of(row["created_at"]) for row in rows}
    partitions.ensure(table, months)
    try:
        return db.run_write(write)
    except IntegrityError as error:
        if not missing_partition(error):
            raise
    partitions.recheck(table, months)
    return db.run_write(write)
