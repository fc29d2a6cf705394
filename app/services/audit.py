"""The audit log: every administrative action, written in the same transaction as
the action itself, so the log never misses one that happened."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from app.db import audit_repository
from app.db.models import AuditEvent

AuditAction = Literal[
    "key.created",
    "key.revoked",
    "webhook.created",
    "webhook.deleted",
    "delivery.requeued",
    "integration.created",
    "integration.deleted",
]
ACTIONS = get_args(AuditAction)


def audit_row(actor: str, action: str, subject: str, **detail: Any) -> dict[str, Any]:
    """One audit record; ``detail`` never holds a secret."""
    assert action in ACTIONS, action
    return {
        "event_id": f"aud_{uuid.uuid4().hex}",
        "at": datetime.now(UTC),
        "actor": actor,
        "action": action,
        "subject": subject,
        "detail": detail,
    }


def record(
    target: Session | Connection, actor: str, action: str, subject: str, **detail: Any
) -> None:
    """Add the record to the caller's transaction (a session or a connection)."""
    row = audit_row(actor, action, subject, **detail)
    if isinstance(target, Session):
        target.add(AuditEvent(**row))
    else:
        target.execute(insert(AuditEvent).values(row))


def recent(session: Session, action: str | None, limit: int) -> Sequence[AuditEvent]:
    """The newest records first, of one ``action`` or all."""
    return audit_repository.recent(session, action, limit)
