"""What ``/metrics`` reports from the database: analysis runs and webhook deliveries,
which the background process handles (often in another process than the one asked)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC

from sqlalchemy.exc import SQLAlchemyError

from app.db import results_repository, webhooks_repository
from app.db.engine import Database

log = logging.getLogger("mrd.metrics")


@dataclass(frozen=True)
class Figures:
    runs: dict[str, int] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)
    # The newest succeeded run: when it finished (Unix seconds), how long it took, and
    # the waves it found (all, orchestrated).
    last_run_finished: float | None = None
    last_run_seconds: float | None = None
    last_run_waves: int | None = None
    last_run_orchestrated: int | None = None


def figures(db: Database) -> Figures | None:
    """The figures, or None when the database does not answer (``/readyz`` says so)."""
    try:
        with db.engine.connect() as conn:
            runs = results_repository.run_counts(conn)
            deliveries = webhooks_repository.delivery_counts(conn)
            newest = results_repository.newest_succeeded(conn)
    except SQLAlchemyError as exc:
        log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
        return None
    if newest is None:
        return Figures(runs=runs, deliveries=deliveries)
    finished, stats = newest
    finished = finished if finished.tzinfo else finished.replace(tzinfo=UTC)
    return Figures(
        runs=runs,
        deliveries=deliveries,
        last_run_finished=finished.timestamp(),
        last_run_seconds=(stats.get("seconds") or {}).get("total"),
        last_run_waves=stats.get("waves"),
        last_run_orchestrated=stats.get("orchestrated_waves"),
    )
