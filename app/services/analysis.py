"""Analysis runs: load everything stored, run the detection pipeline, store the results.

Runs queue in the database. Every service process has a runner thread; whichever
takes the database lease ``analysis`` claims the oldest queued run, so exactly one
process analyses at a time however many replicas share the database. The runner
also queues a run by itself every ``MRD_ANALYSIS_INTERVAL_S`` when new data arrived.
A run that was running when its process died (no heartbeat for the lease time,
``MRD_ANALYSIS_LEASE_S``) is marked failed and a new run is queued in its place; its
results, never committed, are simply absent.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from app.datasets import write_entities
from app.db import results_repository as results
from app.db import snapshot
from app.db.engine import Database
from app.db.models import (
    Account,
    AnalysisRun,
    Decision,
    Edge,
    Post,
    Report,
)
from app.detection.data import Data
from app.detection.pipeline import Analysis, analyze, collector_paused
from app.detection.shapes import shape
from app.services.labels import Labeler
from app.services.periodic import PeriodicWorker
from app.services.stored_data import StoredData
from app.services.webhooks import announce_waves

log = logging.getLogger("mrd.analysis")
LEASE = "analysis"
KEEP_RUNS = 2
# Runs queued by another process (an API worker) are seen within this time.
QUEUE_POLL_S = 1.0


def export_data(db: Database, folder: Path) -> None:
    """Every stored entity as a data-set folder (one NDJSON file per entity, streamed),
    for an engine that reads the events itself (Spark)."""
    with db.engine.connect() as conn:
        stored = snapshot.everything(conn)
        for kind in ("accounts", "edges", "posts", "reports", "decisions"):
            write_entities(folder, kind, snapshot.records(getattr(stored, kind)))


def run_pipeline(
    db: Database,
    stored: StoredData | None = None,
    engine: str = "local",
    spark_master: str = "local[*]",
    export_dir: str | None = None,
) -> tuple[Data, Analysis]:
    """Load what is stored and analyse it on ``engine`` (``local`` or ``spark``; Spark
    reads an export of the stored entities made in ``export_dir``). The local engine
    reads only what changed since ``stored``'s last read (everything without one)."""
    if engine == "local":
        data, _ = (stored or StoredData()).load(db)
        return data, analyze(data)
    from app.detection.spark import load, spark_session

    with tempfile.TemporaryDirectory(prefix="mrd-export-", dir=export_dir) as folder:
        export_data(db, Path(folder))
        data, spark_engine = load(spark_session(spark_master), Path(folder))
        return data, analyze(data, engine=spark_engine)


def watermark(conn: Connection) -> str:
    """Changes whenever data is added, changed or deleted: compared between runs."""
    parts: list[Any] = [conn.scalar(select(func.max(Report.seq)))]
    for model in (Account, Edge, Post, Decision):
        parts.append(conn.scalar(select(func.max(model.updated_at))))
        parts.append(conn.scalar(select(func.count()).select_from(model)))
    parts.append(sorted(snapshot.deletions(conn).items()))
    return "|".join(str(p) for p in parts)


def latest_run(session: Session) -> AnalysisRun | None:
    """The most recently created run, whatever its status."""
    return results.latest_run(session)


def get_run(session: Session, run_id: str) -> AnalysisRun | None:
    return results.get_run(session, run_id)


# A queued run's stats key asking it to read every stored entity again.
FULL_READ = "full_read"


def queue_run(db: Database, full_read: bool = False) -> AnalysisRun:
    """Queue a run; with ``full_read`` it reads everything stored, not only the changes."""
    with db.session() as session:
        stats = {FULL_READ: True} if full_read else {}
        run = results.create_run(session, str(uuid.uuid4()), datetime.now(UTC), stats)
        session.commit()
        return run


class LeaseLost(RuntimeError):
    """The runner no longer holds the analysis lease: its run must not publish."""


class AnalysisRunner(PeriodicWorker):
    """The background thread of one process that runs queued analyses: it looks for a
    queued run when it starts, then every ``QUEUE_POLL_S`` (at once when woken), and
    queues one itself every ``interval_s`` when data changed."""

    name = "analysis"
    log = log
    failure = "analysis runner error"

    def __init__(
        self,
        db: Database,
        interval_s: float,
        lease_s: float = 120.0,
        pipeline: Callable[[Database, StoredData], tuple[Data, Analysis]] = run_pipeline,
        labeler: Labeler | None = None,
    ) -> None:
        self.db = db
        self.pipeline = pipeline
        # What this process read of the stored data, kept for its next run.
        self.stored = StoredData()
        self.labeler = labeler
        self.interval_s = interval_s
        self.lease = timedelta(seconds=lease_s)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._last_scheduled = time.monotonic()
        super().__init__()

    def work(self) -> None:
        if time.monotonic() - self._last_scheduled >= self.interval_s:
            self._last_scheduled = time.monotonic()
            self._schedule_if_new_data()
        if self._runs_unfinished():
            self.run_pending()

    def pause(self, spent: float) -> float:
        return min(self.interval_s, QUEUE_POLL_S)

    def _runs_unfinished(self) -> bool:
        """Whether a run is queued or running (a read; the lease is a write)."""
        with self.db.engine.connect() as conn:
            return (
                conn.scalar(
                    select(AnalysisRun.run_id)
                    .where(AnalysisRun.status.in_(("queued", "running")))
                    .limit(1)
                )
                is not None
            )

    def _schedule_if_new_data(self) -> None:
        with self.db.session() as session:
            if session.scalar(
                select(func.count()).where(AnalysisRun.status.in_(("queued", "running")))
            ):
                return
            last = session.get(AnalysisRun, results.current_run_id(session) or "")
            with self.db.engine.connect() as conn:
                mark = watermark(conn)
            changed = last is None or last.stats.get("watermark") != mark
            if changed and session.scalar(select(func.count()).select_from(Report)):
                queue_run(self.db)

    def run_pending(self) -> bool:
        """Run the oldest queued run if this process gets the lease; True if one ran."""
        held = self.db.run_write(
            lambda conn: results.take_lease(conn, LEASE, self.holder, self.lease)
        )
        if not held:
            return False
        try:
            self._fail_stale_runs()
            claimed = self.db.run_write(self._claim)
            if claimed is None:
                return False
            self._run(*claimed)
            return True
        finally:
            self.db.run_write(lambda conn: results.release_lease(conn, LEASE, self.holder))

    def _fail_stale_runs(self) -> None:
        """Fail runs whose process died mid-run, and queue one run in their place."""
        stale = datetime.now(UTC) - self.lease

        def fail(conn: Connection) -> int:
            failed = conn.execute(
                update(AnalysisRun)
                .where(AnalysisRun.status == "running", AnalysisRun.heartbeat_at < stale)
                .values(status="failed", finished_at=datetime.now(UTC), error="the runner stopped")
            ).rowcount
            if failed:
                results.queue_run_row(conn, str(uuid.uuid4()), datetime.now(UTC))
            return int(failed)

        if failed := self.db.run_write(fail):
            log.warning("%d analysis run(s) stopped with their process; queued a new one", failed)

    def _claim(self, conn: Connection) -> tuple[str, bool] | None:
        """The oldest queued run, marked running, and whether it asked to read
        everything."""
        oldest = conn.execute(
            select(AnalysisRun.run_id, AnalysisRun.stats)
            .where(AnalysisRun.status == "queued")
            .order_by(AnalysisRun.created_at)
            .limit(1)
        ).first()
        if oldest is None:
            return None
        run_id, stats = oldest
        now = datetime.now(UTC)
        results.mark(conn, run_id, status="running", started_at=now, heartbeat_at=now)
        return str(run_id), bool((stats or {}).get(FULL_READ))

    def _run(self, run_id: str, full_read: bool = False) -> None:
        beating = threading.Event()

        def beat(conn: Connection) -> None:
            # A lost lease is not renewed in the run's name: the new holder may fail it.
            if results.take_lease(conn, LEASE, self.holder, self.lease):
                results.mark(conn, run_id, heartbeat_at=datetime.now(UTC))

        def heartbeat() -> None:
            while not beating.wait(self.lease.total_seconds() / 4):
                self.db.run_write(beat)

        pulse = threading.Thread(target=heartbeat, daemon=True)
        pulse.start()
        began = time.perf_counter()
        try:
            with self.db.engine.connect() as conn:
                mark = watermark(conn)
                report_seq = conn.scalar(select(func.max(Report.seq))) or 0
            with collector_paused():
                self.stored.last = None
                if full_read:
                    self.stored.read_everything_next()
                data, analysis = self.pipeline(self.db, self.stored)
                loaded = time.perf_counter() - began - sum(analysis.timings.values())
                documents = shape(analysis)
            stats: dict[str, Any] = {
                **({FULL_READ: True} if full_read else {}),
                "load": self.stored.last.as_stats() if self.stored.last else {"mode": "full"},
                "watermark": mark,
                "report_seq": report_seq,
                "reports": len(data.reports),
                "accounts": len(data.accounts),
                "waves": len(documents.waves),
                "orchestrated_waves": sum(w.label == "orchestrated" for w in documents.waves),
                "groups": len(documents.groups),
                "seconds": {
                    "load": round(loaded, 3),
                    **{k: round(v, 3) for k, v in analysis.timings.items()},
                },
            }

            def publish(conn: Connection) -> None:
                # The lease renewed in the results' own transaction: a runner whose
                # heartbeat stopped and whose lease passed to another process publishes
                # nothing, and on PostgreSQL the renewal's row lock keeps two publishes
                # (results, announcements, labels) from interleaving.
                if not results.take_lease(conn, LEASE, self.holder, self.lease):
                    raise LeaseLost("the analysis lease passed to another process")
                # A holder in between (taken, used, released while this one stalled)
                # failed this run as stale: it must not come back as the newest.
                still_running = conn.execute(
                    update(AnalysisRun)
                    .where(AnalysisRun.run_id == run_id, AnalysisRun.status == "running")
                    .values(heartbeat_at=datetime.now(UTC))
                ).rowcount
                if not still_running:
                    raise LeaseLost("the run was failed as stale while it analysed")
                results.store_results(conn, run_id, documents)
                announce_waves(conn, documents.waves, newest=data.now)
                if self.labeler is not None:
                    stats["labels_published"] = self.labeler.publish(
                        conn, documents.accounts, datetime.now(UTC)
                    )
                stats["seconds"]["total"] = round(time.perf_counter() - began, 3)
                results.mark(
                    conn,
                    run_id,
                    status="succeeded",
                    finished_at=datetime.now(UTC),
                    stats=stats,
                    params=analysis.params.record(analysis.models),
                )
                results.drop_results_except(conn, results.previous_succeeded(conn, KEEP_RUNS))

            self.db.run_write(publish)
            log.info(
                "analysis run %s succeeded: %d waves (%d orchestrated) in %.1f s",
                run_id,
                stats["waves"],
                stats["orchestrated_waves"],
                stats["seconds"]["total"],
                extra={"fields": {"run_id": run_id, **stats}},
            )
        except Exception as exc:
            log.exception("analysis run %s failed", run_id)
            message = f"{type(exc).__name__}: {exc}"[:2000]
            self.db.run_write(
                lambda conn: results.mark(
                    conn, run_id, status="failed", finished_at=datetime.now(UTC), error=message
                )
            )
        finally:
            beating.set()
            pulse.join()
