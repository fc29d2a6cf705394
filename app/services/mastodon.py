"""A Mastodon server's admin webhooks as report intake: a server points its
``report.created`` and ``report.updated`` webhook here and nothing else is needed.

Mastodon posts ``{event, created_at, object}`` (``REST::Admin::WebhookEventSerializer``;
for reports ``object`` is ``REST::Admin::ReportSerializer``) and signs the raw body:
``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body with the webhook's secret>``.
Each report becomes one report event per reported status (or one for the account when
none is named), and both accounts are upserted, so the detector sees Mastodon reports
exactly as reports sent to ``POST /v1/reports``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.db import integrations_repository
from app.db.engine import Database
from app.db.models import Integration
from app.entities import (
    ACCOUNTS,
    ID_MAX_LENGTH,
    REPORT_TEXT_MAX_LENGTH,
    REPORTS,
    fitted_id,
)
from app.services import audit
from app.services.ingest import IngestResult, ingest_batch

REPORT_EVENTS = ("report.created", "report.updated")


class NotSigned(Exception):
    """No integration with that id, or a delivery its secret did not sign."""


class NotAReport(ValueError):
    """A signed delivery whose body is not a Mastodon event this intake can read."""


def create(session: Session, actor: str, domain: str, secret: str | None) -> Integration:
    """A new Mastodon integration for ``domain`` (audited); its secret is shown once."""
    integration = Integration(
        integration_id=f"int_{uuid.uuid4().hex}",
        kind="mastodon",
        domain=domain.lower(),
        secret=secret or secrets.token_urlsafe(32),
        created_at=datetime.now(UTC),
    )
    integrations_repository.add(session, integration)
    audit.record(session, actor, "integration.created", integration.integration_id, domain=domain)
    session.commit()
    return integration


def list_integrations(session: Session) -> Sequence[Integration]:
    return integrations_repository.list_all(session)


def remove(session: Session, integration_id: str, actor: str) -> bool:
    gone = integrations_repository.remove(session, integration_id)
    if gone:
        audit.record(session, actor, "integration.deleted", integration_id)
    session.commit()
    return gone


def signed(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``X-Hub-Signature`` is the body's HMAC-SHA256 with ``secret`` (compared
    in constant time)."""
    if not header or not header.isascii() or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    given = header.removeprefix("sha256=").strip().lower().encode()
    return hmac.compare_digest(expected, given)


def account_id(account: dict[str, Any], domain: str) -> str:
    """``username@domain``: the same remote account reported on two servers is one
    account here, and local accounts (Mastodon gives them no domain) take the server's."""
    return f"{account['username']}@{account.get('domain') or domain}".lower()


def _account_item(account: dict[str, Any], domain: str) -> dict[str, Any]:
    profile = account.get("account") or {}
    item: dict[str, Any] = {
        "account_id": account_id(account, domain),
        "handle": account["username"],
        "created_at": account.get("created_at") or profile.get("created_at"),
    }
    # Only what Mastodon knows for sure: an unsuspended account may be deleted here.
    if account.get("suspended"):
        item["status"] = "suspended"
    for field in ("display_name", "followers_count", "following_count"):
        if profile.get(field) is not None:
            item[field] = profile[field]
    if not item.get("display_name"):
        item.pop("display_name", None)
    return item


def _key(*parts: str) -> str:
    """``mastodon:<domain>:<report>[:<status>]``, or its digest when a long domain makes
    it longer than an id may be."""
    return fitted_id(":".join(("mastodon", *parts)), "mastodon")


def _content_id(status: dict[str, Any], domain: str) -> str:
    """The status's URI (the same post everywhere), or its id on this server."""
    uri = status.get("uri")
    return (
        uri
        if isinstance(uri, str) and 0 < len(uri) <= ID_MAX_LENGTH
        else f"{status['id']}@{domain}"
    )


def translate(
    report: dict[str, Any], domain: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """An ``Admin::Report`` as (accounts, reports) items of the ingest endpoints.

    The report's events are keyed ``mastodon:<domain>:<report id>[:<status id>]``: a
    re-delivery is a duplicate, and ``report.updated`` adding statuses adds only them.
    Its category (spam, legal, violation, other) is the reason; the comment, the text."""
    try:
        reporter, target = report["account"], report["target_account"]
        accounts = [_account_item(reporter, domain), _account_item(target, domain)]
        base = (domain, str(report["id"]))
        comment = (report.get("comment") or "").strip()[:REPORT_TEXT_MAX_LENGTH] or None
        common = {
            "reporter_id": account_id(reporter, domain),
            "target_id": account_id(target, domain),
            "reason": report.get("category") or "other",
            "created_at": report["created_at"],
            "text": comment,
        }
        statuses = report.get("statuses") or []
        reports = [
            common | {"event_id": _key(*base, str(s["id"])), "content_id": _content_id(s, domain)}
            for s in statuses
        ] or [common | {"event_id": _key(*base)}]
    except (KeyError, TypeError, AttributeError) as exc:
        raise NotAReport(f"not a Mastodon report: {exc!r} missing or malformed") from None
    return accounts, reports


@dataclass(frozen=True)
class Delivery:
    """What one webhook delivery did: its event, and the reports and accounts stored."""

    event: str
    reports: IngestResult | None = None
    accounts: IngestResult | None = None


def receive(
    db: Database,
    integration_id: str,
    body: bytes,
    signature: str | None,
    future_tolerance_s: float,
) -> Delivery:
    """Check the delivery's signature and store its report. ``NotSigned`` when no
    integration has this id or its secret did not sign the body; other events than
    reports are acknowledged and ignored (a server may send them all)."""
    with db.session() as session:
        integration = integrations_repository.get(session, integration_id)
        if integration is None or not signed(integration.secret, body, signature):
            raise NotSigned(integration_id)
        domain = integration.domain
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError:
        event = None
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        raise NotAReport("the body is not a Mastodon webhook event ({event, created_at, object})")
    name = event["event"]
    if name not in REPORT_EVENTS:
        return Delivery(event=name)
    accounts, reports = translate(event.get("object") or {}, domain)
    stored_accounts = ingest_batch(db, ACCOUNTS, accounts, future_tolerance_s)
    stored_reports = ingest_batch(db, REPORTS, reports, future_tolerance_s)
    return Delivery(event=name, reports=stored_reports, accounts=stored_accounts)
