"""Integrations (``models.Integration``): created by an admin, read on every delivery."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Integration


def add(session: Session, integration: Integration) -> None:
    session.add(integration)


def get(session: Session, integration_id: str) -> Integration | None:
    return session.get(Integration, integration_id)


def list_all(session: Session) -> Sequence[Integration]:
    return session.scalars(select(Integration).order_by(Integration.created_at)).all()


def remove(session: Session, integration_id: str) -> bool:
    """Delete an integration; False if there was none."""
    found = session.get(Integration, integration_id)
    if found is None:
        return False
    session.delete(found)
    return True
