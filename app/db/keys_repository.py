"""Queries on the ``api_keys`` table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db.models import ApiKey


def add(session: Session, key: ApiKey) -> None:
    session.add(key)


def active_with_lookup(session: Session, lookup: str) -> Sequence[ApiKey]:
    query = select(ApiKey).where(ApiKey.lookup == lookup, ApiKey.revoked_at.is_(None))
    return session.scalars(query).all()


def by_digest(session: Session, digest: str) -> ApiKey | None:
    return session.scalars(select(ApiKey).where(ApiKey.digest == digest)).first()


def list_all(session: Session) -> Sequence[ApiKey]:
    return session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.key_id)).all()


def get(session: Session, key_id: str) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ApiKey)) or 0


def active_admin_count(session: Session) -> int:
    keys = session.scalars(select(ApiKey.scopes).where(ApiKey.revoked_at.is_(None))).all()
    return sum("admin" in scopes for scopes in keys)


def revoke(session: Session, key_id: str, when: datetime) -> None:
    session.execute(update(ApiKey).where(ApiKey.key_id == key_id).values(revoked_at=when))
