"""API keys: creation, verification in constant time, bootstrap on start.

A key is a random secret shown once; the database keeps only its SHA-256 digest
(secrets are 256-bit random, so a plain digest cannot be brute-forced). The first
16 hex digits of the digest index the row; the full digest is compared with
``hmac.compare_digest``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.orm import Session

from app.db import keys_repository
from app.db.engine import Database
from app.db.models import ApiKey
from app.services import audit

Scope = Literal["ingest", "read", "admin"]
SCOPES: tuple[Scope, ...] = ("ingest", "read", "admin")
log = logging.getLogger("mrd.keys")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id and what it may do."""

    key_id: str
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session, name: str, scopes: list[str], secret: str | None = None
) -> tuple[ApiKey, str]:
    """Store a new key; returns the row and the secret (which is never stored)."""
    secret = secret or "mrd_" + secrets.token_urlsafe(32)
    digest = digest_of(secret)
    key = ApiKey(
        key_id="key_" + secrets.token_hex(8),
        name=name,
        lookup=digest[:16],
        digest=digest,
        scopes=sorted(set(scopes), key=SCOPES.index),
        created_at=datetime.now(UTC),
    )
    keys_repository.add(session, key)
    session.flush()
    return key, secret


def create_key_by(session: Session, actor: str, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """``create_key`` on behalf of the admin key ``actor``, audited and committed."""
    key, secret = create_key(session, name, scopes)
    audit.record(session, actor, "key.created", key.key_id, name=key.name, scopes=key.scopes)
    session.commit()
    return key, secret


def list_keys(session: Session) -> Sequence[ApiKey]:
    return keys_repository.list_all(session)


def revoke(session: Session, key_id: str, actor: str) -> Literal["revoked", "gone", "last_admin"]:
    """Revoke the active key ``key_id`` on behalf of ``actor``, audited and committed,
    unless it is the last active admin key (``last_admin``: the service never locks its
    operators out); ``gone``: no such active key."""
    key = keys_repository.get(session, key_id)
    if key is None or key.revoked_at is not None:
        return "gone"
    outcome = keys_repository.revoke_keeping_an_admin(session, key, datetime.now(UTC))
    if outcome != "revoked":
        session.rollback()
        return outcome
    audit.record(session, actor, "key.revoked", key_id, name=key.name)
    session.commit()
    return outcome


def authenticate(session: Session, secret: str) -> Principal | None:
    digest = digest_of(secret)
    for key in keys_repository.active_with_lookup(session, digest[:16]):
        if hmac.compare_digest(key.digest, digest):
            return Principal(key.key_id, key.name, frozenset(key.scopes))
    return None


class KeyCache:
    """Keys verified since the last revocation anywhere, by digest (secrets are never
    kept). Every request reads the database's revocation count (one tiny query on a
    table of a few rows, over the connection the process holds for it); an entry
    verified under another count is verified again. So
    a revocation committed by any worker or replica holds for the very next request
    everywhere, and a busy client still costs no key lookup."""

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._entries: dict[str, tuple[int, Principal]] = {}
        self._lock = threading.Lock()

    def knows(self, secret: str) -> bool:
        """Whether ``secret`` was a valid key when last seen (it may since be revoked)."""
        with self._lock:
            return digest_of(secret) in self._entries

    def authenticate(self, db: Database, secret: str) -> Principal | None:
        digest = digest_of(secret)
        revocations = keys_repository.revocations(db.held)
        with self._lock:
            cached = self._entries.get(digest)
        if cached is not None and cached[0] == revocations:
            return cached[1]
        with db.sessions() as session:
            principal = authenticate(session, secret)
        with self._lock:
            if principal is None:
                self._entries.pop(digest, None)
            else:
                if len(self._entries) >= self.MAX_ENTRIES:
                    self._entries.clear()
                self._entries[digest] = (revocations, principal)
        return principal


def ensure_bootstrap_key(session: Session, bootstrap_secret: str | None) -> str | None:
    """Make ``MRD_BOOTSTRAP_API_KEY`` an admin key, or create one if no key exists.

    A revoked bootstrap key stays revoked: a leaked one must not return at the next
    start. Rotating it is setting a new value, which creates a new (audited) key.
    Returns the secret of a key created here with a random secret, so the caller can
    show it once; otherwise None.
    """
    if bootstrap_secret:
        existing = keys_repository.by_digest(session, digest_of(bootstrap_secret))
        if existing is None:
            key, _ = create_key(session, "bootstrap", ["admin"], secret=bootstrap_secret)
            audit.record(session, "service", "key.created", key.key_id, name=key.name)
        elif existing.revoked_at is not None:
            log.warning(
                "MRD_BOOTSTRAP_API_KEY is key %s, revoked at %s; it stays revoked. "
                "Set a new value to rotate it.",
                existing.key_id,
                existing.revoked_at.isoformat(),
            )
        return None
    if keys_repository.count(session) == 0:
        key, secret = create_key(session, "initial-admin", ["admin"])
        audit.record(session, "service", "key.created", key.key_id, name=key.name)
        return secret
    return None
