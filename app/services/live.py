"""The fast path: provisional results for targets reported since the newest run.

A full analysis runs every ``MRD_ANALYSIS_INTERVAL_S``; an enforcement pipeline asking
about an account hit a minute ago cannot wait for it. One process at a time (database
lease ``live``) follows the reports table by its sequence number. Each tick it takes
the targets that received reports, loads their neighbourhood from the database
(``snapshot.around``, the reader full runs use too: their reports of the last 30 days,
their reporters' other reports, those accounts, the reporters' follow edges and their
edges to the targets, the posts that name or reshare the targets, decisions on the
targets reported) and runs the same pipeline on it. The
targets' new or grown waves and their ``target_risk`` are written into the newest
run's results, marked provisional, so every process and replica serves them at once;
the next full run replaces them.

Bounds: at most ``MAX_TARGETS_PER_TICK`` targets a tick, the most reported first,
and never more than half of the time; a backlog of more than ``MAX_PENDING`` targets
(a bulk load) is left to the next full run, which the scheduler queues because new
data arrived.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from app.db import results_repository as results
from app.db import snapshot
from app.db.engine import Database
from app.db.models import (
    AnalysisRun,
    Report,
)
from app.db.results_repository import parse_time
from app.detection.data import build_data, to_iso
from app.detection.documents import AccountRisk, Wave, WaveSummary
from app.detection.params import DetectionParams
from app.detection.pipeline import analyze
from app.detection.shapes import is_target_explanation, shape, target_explanations
from app.services.periodic import PeriodicWorker
from app.services.webhooks import announce_waves

log = logging.getLogger("mrd.live")
LEASE = "live"
LEASE_TTL = timedelta(seconds=15)
TICK_S = 0.25
MAX_TARGETS_PER_TICK = 64
MAX_PENDING = 2_000
# Reports read per tick; a larger backlog is followed over several ticks.
FOLLOW_BATCH = 20_000
# The fast path judges with the settings full runs use.
PARAMS = DetectionParams()
PROVISIONAL = "provisional: from reports since the last full analysis, which will replace it"


def load_neighbourhood(
    conn: Connection, targets: Sequence[str]
) -> snapshot.Snapshot[list[snapshot.Record]]:
    """What the pipeline needs to judge the recent reports against ``targets``, over the
    windows full runs use (``snapshot.around``)."""
    return snapshot.around(
        conn, targets, PARAMS.target_lookback_s, PARAMS.attribution.directive_window_s
    )


def provisional_results(
    neighbourhood: snapshot.Snapshot[list[snapshot.Record]],
    targets: Sequence[str],
    stored_waves: dict[str, list[WaveSummary]],
) -> tuple[list[Wave], dict[str, AccountRisk]]:
    """The targets' new or grown waves and their account documents, as the pipeline
    sees the neighbourhood. Waves the newest run already has unchanged keep its score."""
    data = build_data(
        accounts=neighbourhood.accounts,
        edges=neighbourhood.edges,
        posts=neighbourhood.posts,
        reports=neighbourhood.reports,
        decisions=neighbourhood.decisions,
    )
    analysis = analyze(data, params=PARAMS)
    documents = shape(analysis)
    wanted = set(targets)
    known = {(w.wave_id, w.report_count) for ws in stored_waves.values() for w in ws}
    changed = []
    for wave in documents.waves:
        if wave.target_id not in wanted or (wave.wave_id, wave.report_count) in known:
            continue
        wave.explanations.append(PROVISIONAL)
        wave.provisional = True
        changed.append(wave)
    accounts = {a.account_id: a for a in documents.accounts if a.account_id in wanted}
    return changed, accounts


def _merged_account(stored: AccountRisk | None, fresh: AccountRisk, updated_at: str) -> AccountRisk:
    """The stored account document with the fast path's target risk in it. Between full
    runs the risks only rise: the neighbourhood lacks most of what the full run saw (the
    reporters' older waves), and reports arriving since cannot argue a hold away."""
    base = stored if stored is not None else fresh
    risk = max(fresh.target_risk, base.target_risk)
    core = max(fresh.core_risk, base.core_risk)
    explanations = [
        e for e in base.explanations if not is_target_explanation(e) and e != PROVISIONAL
    ]
    explanations += target_explanations(risk, core)
    explanations.append(PROVISIONAL)
    return base.model_copy(
        update={
            "target_risk": round(risk, 4),
            "core_risk": round(core, 4),
            "content_risk": _risen(base.content_risk, fresh.content_risk),
            "explanations": explanations,
            "updated_at": updated_at,
        }
    )


def _risen(stored: dict[str, float], fresh: dict[str, float]) -> dict[str, float]:
    """Per content item, the higher of the stored and the fresh risk."""
    return stored | {item: max(risk, stored.get(item, 0.0)) for item, risk in fresh.items()}


class LiveUpdater(PeriodicWorker):
    """The fast-path thread of one process; only the lease holder works."""

    name = "live"
    log = log
    failure = "fast path error"

    def __init__(self, db: Database) -> None:
        self.db = db
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._run_id: str | None = None
        self._renew_at = 0.0
        self._cursor = 0
        self._pending: dict[str, int] = {}
        super().__init__()

    def stop(self) -> None:
        super().stop()
        self.db.run_write(lambda conn: results.release_lease(conn, LEASE, self.holder))

    def work(self) -> None:
        self.tick()

    def pause(self, spent: float) -> float:
        # Never more than half the time: ingest shares these cores.
        return max(TICK_S, spent)

    def tick(self) -> int:
        """Follow new reports and refresh their targets; how many targets were updated."""
        if time.monotonic() >= self._renew_at:
            if not self.db.run_write(
                lambda conn: results.take_lease(conn, LEASE, self.holder, LEASE_TTL)
            ):
                self._run_id = None
                return 0
            self._renew_at = time.monotonic() + LEASE_TTL.total_seconds() / 3
        with self.db.session() as session:
            run = session.get(AnalysisRun, results.current_run_id(session) or "")
            if run is None:
                return 0
            if run.run_id != self._run_id:
                self._run_id = run.run_id
                self._cursor = int(run.stats.get("report_seq", 0))
                self._pending.clear()
            self._follow(session)
        if not self._pending:
            return 0
        busiest = sorted(self._pending, key=lambda t: -self._pending[t])[:MAX_TARGETS_PER_TICK]
        for target in busiest:
            del self._pending[target]
        self._refresh(run.run_id, busiest)
        return len(busiest)

    def _follow(self, session: Session) -> None:
        # A range of the primary key, grouped here: grouped in SQL, SQLite's planner
        # walks the whole target index in target order instead.
        new = session.execute(
            select(Report.target_id, Report.seq)
            .where(Report.seq > self._cursor)
            .order_by(Report.seq)
            .limit(FOLLOW_BATCH)
        ).all()
        for target, seq in new:
            self._pending[target] = self._pending.get(target, 0) + 1
            self._cursor = int(seq)
        if len(self._pending) > MAX_PENDING:
            log.info(
                "fast path: %d targets reported at once (a bulk load?); left to the next run",
                len(self._pending),
            )
            self._pending.clear()

    def _refresh(self, run_id: str, targets: list[str]) -> None:
        began = time.perf_counter()
        with self.db.engine.connect() as conn:
            neighbourhood = load_neighbourhood(conn, targets)
            stored_waves = results.waves_of_targets(conn, run_id, targets)
            stored_accounts = results.account_risks(conn, run_id, targets)
        if not neighbourhood.reports:
            return
        loaded = time.perf_counter()
        waves, accounts = provisional_results(neighbourhood, targets, stored_waves)
        analysed = time.perf_counter()
        updated_at = to_iso(max(r["created_at"] for r in neighbourhood.reports))
        # A grown wave may start elsewhere than the stored one it replaces.
        superseded = [
            old.wave_id
            for wave in waves
            for old in stored_waves.get(wave.target_id, [])
            if parse_time(old.start) <= parse_time(wave.end)
            and parse_time(old.end) >= parse_time(wave.start)
        ]
        merged = [
            _merged_account(stored_accounts.get(account_id), fresh, updated_at)
            for account_id, fresh in accounts.items()
        ]

        def write(conn: Connection) -> None:
            results.replace_in_run(conn, run_id, waves, superseded, merged)
            announce_waves(conn, waves)

        self.db.run_write(write)
        log.debug(
            "fast path: %d targets, %d reports: load %.3f s, analysis %.3f s, write %.3f s",
            len(targets),
            len(neighbourhood.reports),
            loaded - began,
            analysed - loaded,
            time.perf_counter() - analysed,
        )
