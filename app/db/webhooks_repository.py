"""Queries on the ``webhooks`` and ``webhook_deliveries`` tables for the API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.orm import Session

from app.db.models import Webhook, WebhookDelivery


def get(session: Session, webhook_id: str) -> Webhook | None:
    return session.get(Webhook, webhook_id)


def add(session: Session, webhook: Webhook) -> None:
    session.add(webhook)


def list_all(session: Session) -> Sequence[Webhook]:
    return session.scalars(select(Webhook).order_by(Webhook.created_at)).all()


def deliveries(
    session: Session, webhook_id: str, status: str | None, limit: int
) -> Sequence[WebhookDelivery]:
    """A subscription's deliveries, newest first, of one ``status`` or all."""
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    order = (WebhookDelivery.created_at.desc(), WebhookDelivery.delivery_id)
    return session.scalars(query.order_by(*order).limit(limit)).all()


def delivery(session: Session, delivery_id: str) -> WebhookDelivery | None:
    return session.get(WebhookDelivery, delivery_id)


def requeue_dead(conn: Connection, delivery_id: str) -> None:
    """A dead letter back in the queue, with a fresh set of attempts, due now."""
    conn.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.delivery_id == delivery_id, WebhookDelivery.status == "dead")
        .values(status="pending", attempts=0, next_attempt_at=datetime.now(UTC))
    )


def remove(conn: Connection, webhook_id: str) -> bool:
    """Remove a subscription and its delivery log; False if there was none."""
    gone = conn.execute(delete(Webhook).where(Webhook.webhook_id == webhook_id)).rowcount
    conn.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id))
    return bool(gone)


def delivery_counts(conn: Connection) -> dict[str, int]:
    """Deliveries by status (pending, delivered, dead)."""
    query = select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
    return {status: count for status, count in conn.execute(query)}
