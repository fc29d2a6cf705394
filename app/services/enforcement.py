"""What the API reads results by: the newest succeeded run (looked up at most once a
second per process), and the enforcement policy, the answer an automated suspension
pipeline asks for before it acts."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from sqlalchemy import Connection

from app.db import results_repository as results
from app.detection.documents import AccountRisk, EnforcementAnswer, WaveSummary
from app.detection.scores import FLAG
from app.detection.shapes import target_explanations

CURRENT_RUN_TTL_S = 1.0


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
    results.account_risks(conn, run_id, [""])
    results.latest_waves_of(conn, run_id, "")


def check(
    conn: Connection, current: CurrentRun, target_id: str, content_id: str | None
) -> EnforcementAnswer:
    """``hold_for_review`` when the target's (or the content item's) risk is at least
    ``FLAG``, ``proceed`` otherwise, with the reasons; two indexed reads."""
    run_id = current.get(lambda: nullcontext(conn))
    risk = results.account_risks(conn, run_id, [target_id]).get(target_id) if run_id else None
    waves = results.latest_waves_of(conn, run_id, target_id) if run_id else []
    return decide(risk, waves, content_id)


def decide(
    risk: AccountRisk | None, waves: list[WaveSummary], content_id: str | None
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
