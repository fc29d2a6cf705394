"""Queries on the ``audit_events`` table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEvent


def recent(session: Session, action: str | None, limit: int) -> Sequence[AuditEvent]:
    """The newest ``limit`` events, of one ``action`` or all."""
    query = select(AuditEvent)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return session.scalars(query.order_by(AuditEvent.at.desc()).limit(limit)).all()
