"""What the API reads results by: the newest succeeded run (looked up at most once a
second per process), and the enforcement policy, the answer an automated suspension
pipeline asks for before it acts, read from memory for the accounts it matters for
(``CheckIndex``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from app.db import results_repository as results
from app.db.engine import Database
from app.db.results_repository import RiskBrief, WaveBrief
from app.detection.documents import EnforcementAnswer
from app.detection.scores import FLAG
from app.detection.shapes import target_explanations
from app.services.periodic import PeriodicWorker

log = logging.getLogger("mrd.enforcement")
CURRENT_RUN_TTL_S = 1.0
# How often each process looks for a new run or the fast path's updates while checks
# arrive; with none arriving, every ``INDEX_IDLE_POLL_S``, still within the second after
# which the index is set aside (``INDEX_STALE_S``), so a check after a quiet spell
# finds it current.
INDEX_POLL_S = 0.25
INDEX_IDLE_POLL_S = 0.75
# Past this without a successful look, checks read the database (and say if it is down):
# no answer is staler than the run id the other reads cache (``CURRENT_RUN_TTL_S``).
INDEX_STALE_S = CURRENT_RUN_TTL_S

Standing = tuple[RiskBrief | None, list[WaveBrief]]


class CurrentRun:
    """The newest succeeded run's id, looked up at most once every ``CURRENT_RUN_TTL_S``:
    every read of results asks for it, and a run finishes every minute at most."""

    def __init__(self) -> None:
        # (fresh until, run id); replaced whole, so readers never see half of it.
        self._cached: tuple[float, str | None] | None = None

    def get(self, connect: Callable[[], AbstractContextManager[Connection]]) -> str | None:
        """The id; ``connect()`` gives the connection to read it with, asked for only
        when the cached id is stale."""
        cached = self._cached
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        with connect() as conn:
            run_id = results.current_run_id(conn)
        self._cached = (time.monotonic() + CURRENT_RUN_TTL_S, run_id)
        return run_id


def warm_up(conn: Connection, current: CurrentRun) -> None:
    """Run the enforcement check's reads once, so the first real checks do not pay for
    compiling their statements."""
    run_id = current.get(lambda: nullcontext(conn)) or ""
    results.risk_briefs(conn, run_id, [""])
    results.latest_waves_of(conn, run_id, "")


@dataclass(frozen=True)
class IndexedRun:
    """One run's standings, as of one of its revisions; replaced whole, never changed."""

    run_id: str
    revision: int
    standings: dict[str, Standing]
    loaded_at: float = field(default_factory=time.monotonic)


class CheckIndex(PeriodicWorker):
    """The current run's standing (its risks and latest waves, in brief) of every
    account with a wave or a target risk, kept in each process's memory: an
    enforcement check on such an account reads no database, so a burst of checks
    neither waits for connections nor hands the interpreter to the threads serving
    other routes at every read. Rebuilt when a new run succeeds
    (checks read the database meanwhile); the fast path's updates, which raise the
    run's revision, are read again within ``INDEX_POLL_S`` while checks arrive."""

    name = "check-index"
    log = log
    failure = "enforcement index refresh failed"

    def __init__(self, db: Database) -> None:
        self.db = db
        self._indexed: IndexedRun | None = None
        self._failing = False
        super().__init__()

    def work(self) -> None:
        try:
            with self.db.engine.connect() as conn:
                self.refresh(conn)
        except SQLAlchemyError as error:
            if not self._failing:
                log.warning("enforcement index: database unreachable (%s)", type(error).__name__)
            self._failing = True
            return
        except Exception:
            if not self._failing:
                log.exception("enforcement index: refresh failed; checks read the database")
            self._failing = True
            return
        self._failing = False

    def pause(self, spent: float) -> float:
        # Checks wake the thread when the index is older than INDEX_POLL_S (``current``).
        return INDEX_IDLE_POLL_S

    def refresh(self, conn: Connection) -> None:
        """Load a new run's standings, or re-read the targets the fast path changed."""
        head = results.current_run_revision(conn)
        indexed = self._indexed
        if head is None:
            self._indexed = None
            return
        run_id, revision = head
        if indexed is None or indexed.run_id != run_id:
            self._indexed = None
            self._indexed = IndexedRun(run_id, revision, results.standings(conn, run_id))
        elif revision > indexed.revision:
            changed = results.changed_targets(conn, run_id, indexed.revision)
            kept = {t: s for t, s in indexed.standings.items() if t not in changed}
            fresh = results.standings(conn, run_id, sorted(changed))
            self._indexed = IndexedRun(run_id, revision, kept | fresh)
        else:
            self._indexed = IndexedRun(run_id, revision, indexed.standings)

    def current(self) -> IndexedRun | None:
        """The standings, unless the last successful look is too old to trust; a look
        older than ``INDEX_POLL_S`` asks the thread for another (an idle service polls
        rarely)."""
        indexed = self._indexed
        age = time.monotonic() - indexed.loaded_at if indexed is not None else INDEX_STALE_S
        if age > INDEX_POLL_S:
            self.wake()
        return indexed if age <= INDEX_STALE_S else None


def check(
    connect: Callable[[], AbstractContextManager[Connection]],
    current: CurrentRun,
    index: CheckIndex | None,
    target_id: str,
    content_id: str | None,
) -> EnforcementAnswer:
    """``hold_for_review`` when the target's (or the content item's) risk is at least
    ``FLAG``, ``proceed`` otherwise, with the reasons: from memory for an account with
    a wave or a target risk, else two indexed reads."""
    indexed = index.current() if index is not None else None
    if indexed is not None and (standing := indexed.standings.get(target_id)) is not None:
        return decide(*standing, content_id)
    with connect() as conn:
        run_id = indexed.run_id if indexed is not None else current.get(lambda: nullcontext(conn))
        risk = results.risk_briefs(conn, run_id, [target_id]).get(target_id) if run_id else None
        waves = results.latest_waves_of(conn, run_id, target_id) if run_id else []
    return decide(risk, waves, content_id)


def decide(
    risk: RiskBrief | None, waves: list[WaveBrief], content_id: str | None
) -> EnforcementAnswer:
    """The policy, given the target's account document and its latest waves."""
    target_risk = risk.target_risk if risk else 0.0
    core_risk = risk.core_risk if risk else 0.0
    content_risk = None
    if content_id is not None and risk is not None:
        content_risk = risk.content_risk.get(content_id)
    if content_id is not None:
        waves = [w for w in waves if w.content_id == content_id] or waves
    wave = waves[0] if waves else None
    # A content item's share can be diluted like the account's: the core's evidence
    # holds it too (docs/api.md, "More reports never release a hold").
    decisive = target_risk if content_risk is None else max(float(content_risk), core_risk)
    hold = decisive >= FLAG
    reasons = []
    if wave is not None:
        counts = f"{wave.report_count} reports, score {wave.score:.2f}"
        reasons.append(f"latest wave {wave.wave_id}: {counts}")
        reasons += wave.explanations if hold else []
    if content_risk is not None:
        reasons.append(
            f"{content_risk:.0%} of recent reports on content {content_id} came in "
            "orchestrated waves"
        )
    elif content_id is not None and risk is not None:
        reasons.append(f"no recent wave names content {content_id}: judged on the account")
    if risk:
        reasons += target_explanations(target_risk, core_risk) or [
            f"target risk {target_risk:.2f}, under {FLAG}: recent reports against the "
            "account do not look orchestrated"
        ]
    else:
        reasons.append("no analysis covers this account yet")
    return EnforcementAnswer(
        action="hold_for_review" if hold else "proceed",
        target_risk=target_risk,
        content_risk=content_risk,
        wave_id=wave.wave_id if wave else None,
        reasons=reasons,
    )
