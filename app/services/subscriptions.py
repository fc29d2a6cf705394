"""Webhook subscriptions and their delivery logs as administrators manage them: every
change is audited in its own transaction. Sending is ``webhooks.WebhookDispatcher``'s."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from app.db import webhooks_repository
from app.db.engine import Database
from app.db.models import Webhook, WebhookDelivery
from app.services import audit
from app.services.webhooks import resolve_destination


def subscribe(
    session: Session,
    actor: str,
    url: str,
    events: Sequence[str],
    secret: str | None,
    private_ok: bool,
) -> Webhook:
    """Store a subscription on behalf of ``actor``; ``webhooks.DestinationRefused`` for
    a URL the destination guard refuses (nothing is stored)."""
    resolve_destination(url, private_ok)
    webhook = Webhook(
        webhook_id=f"whk_{uuid.uuid4().hex}",
        url=url,
        events=sorted(set(events)),
        secret=secret or secrets.token_urlsafe(32),
        created_at=datetime.now(UTC),
    )
    webhooks_repository.add(session, webhook)
    audit.record(
        session, actor, "webhook.created", webhook.webhook_id, url=url, events=webhook.events
    )
    session.commit()
    return webhook


def list_webhooks(session: Session) -> Sequence[Webhook]:
    return webhooks_repository.list_all(session)


def find(session: Session, webhook_id: str) -> Webhook | None:
    return webhooks_repository.get(session, webhook_id)


def remove(db: Database, webhook_id: str, actor: str) -> bool:
    """Delete a subscription and its delivery log; False if there was none."""

    def write(conn: Connection) -> bool:
        gone = webhooks_repository.remove(conn, webhook_id)
        if gone:
            audit.record(conn, actor, "webhook.deleted", webhook_id)
        return gone

    return db.run_write(write)


def deliveries(
    session: Session, webhook_id: str, status: str | None, limit: int
) -> Sequence[WebhookDelivery]:
    """A subscription's deliveries, newest first, of one ``status`` or all."""
    return webhooks_repository.deliveries(session, webhook_id, status, limit)


def requeue(
    db: Database, session: Session, webhook_id: str, delivery_id: str, actor: str
) -> tuple[Literal["requeued", "not_found", "not_dead"], WebhookDelivery | None]:
    """Put a dead delivery of ``webhook_id`` back in the queue with fresh attempts;
    the delivery as it is now, or why not."""
    row = webhooks_repository.delivery(session, delivery_id)
    if row is None or row.webhook_id != webhook_id:
        return "not_found", None
    if row.status != "dead":
        return "not_dead", row

    def write(conn: Connection) -> None:
        webhooks_repository.requeue_dead(conn, delivery_id)
        audit.record(conn, actor, "delivery.requeued", delivery_id, webhook_id=webhook_id)

    db.run_write(write)
    session.refresh(row)
    return "requeued", row
