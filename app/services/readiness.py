"""Whether this process can serve: the database answers, its schema is the revision
this code expects, and the background process (analyses, deliveries) is up."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from app.db.engine import Database
from app.db.migrations import current_revision
from app.supervisor import read_state


class NotReady(Exception):
    """Why the process cannot serve; ``kind``: ``not-ready`` or ``degraded``."""

    def __init__(self, detail: str, kind: str) -> None:
        super().__init__(detail)
        self.kind = kind


def schema_is_current(db: Database, head: str | None) -> bool:
    try:
        return current_revision(db.engine) == head
    except SQLAlchemyError:
        return False


def check(db: Database, head: str | None) -> str | None:
    """The schema revision when ready; raises ``NotReady`` otherwise."""
    try:
        revision = current_revision(db.engine)
    except SQLAlchemyError as exc:
        raise NotReady(
            f"The database is unreachable ({type(exc).__name__}).", "not-ready"
        ) from None
    if revision != head:
        raise NotReady(
            f"The database schema is at {revision or 'no revision'}, not {head}: "
            "run `mrd migrate`.",
            "not-ready",
        )
    background = read_state()
    if background is not None and not background.up:
        raise NotReady(
            f"The background process is down ({background.last_exit}) and being restarted "
            f"(restart {background.restarts}): analyses and webhook deliveries wait for it.",
            "degraded",
        )
    return revision
