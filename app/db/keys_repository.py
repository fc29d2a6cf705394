"""Queries on the ``api_keys`` table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session, aliased

from app.db.engine import HeldConnection
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


# Read at every request, so sent as written (``HeldConnection.scalar``).
REVOCATIONS = "SELECT count(revoked_at) FROM api_keys"


def revocations(held: HeldConnection) -> int:
    """How many keys were ever revoked: it grows by one with each revocation (keys are
    never deleted nor restored), so a change of it invalidates cached verifications."""
    return int(held.scalar(REVOCATIONS) or 0)


def revoke_keeping_an_admin(
    session: Session, key: ApiKey, when: datetime
) -> Literal["revoked", "gone", "last_admin"]:
    """Revoke ``key`` unless it is the last active admin key; or say it was revoked
    meanwhile (``gone``).

    Two admins revoking each other at the same moment must not both succeed. The
    active keys are locked first (PostgreSQL: the second revocation waits for the
    first to commit, then reads it), and the update itself re-checks that another
    admin key is still active, in one statement (SQLite runs one writer at a time).
    """
    active = session.scalars(
        select(ApiKey).where(ApiKey.revoked_at.is_(None)).order_by(ApiKey.key_id).with_for_update()
    ).all()
    condition = [ApiKey.key_id == key.key_id, ApiKey.revoked_at.is_(None)]
    if "admin" in key.scopes:
        others = [k.key_id for k in active if "admin" in k.scopes and k.key_id != key.key_id]
        other = aliased(ApiKey)
        condition.append(exists().where(other.key_id.in_(others), other.revoked_at.is_(None)))
    done = session.execute(update(ApiKey).where(*condition).values(revoked_at=when))
    if done.rowcount == 1:  # type: ignore[attr-defined]
        return "revoked"
    still = session.scalar(select(ApiKey.revoked_at).where(ApiKey.key_id == key.key_id))
    return "gone" if still is not None else "last_admin"
