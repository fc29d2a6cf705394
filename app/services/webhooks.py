"""Webhooks: wave events announced once, signed, delivered with retries.

A wave is announced to subscribers as ``wave.detected`` when it is first labelled
orchestrated, by the fast path or by a full run, and as ``wave.updated`` when it
later changed enough to matter (grew by a quarter, moved score by 0.1, closed or
was relabelled). Announcing writes one delivery row per subscription in the same
transaction as the results, so no event is lost when the process dies; the
dispatcher thread of whichever process gets there first claims and sends it.

Destinations are checked at subscription and at every attempt: the host name is
resolved once, every address must be public (unless ``MRD_WEBHOOK_ALLOW_PRIVATE``),
and the request goes to the checked address, so DNS cannot be switched under it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import Connection, Select, func, insert, select, update

from app import __version__
from app.config import Settings
from app.db.engine import Database, in_chunks
from app.db.models import WaveAlert, Webhook, WebhookDelivery
from app.db.results_repository import parse_time, wave_columns
from app.detection.documents import WaveSummary

log = logging.getLogger("mrd.webhooks")

EVENTS = ("wave.detected", "wave.updated")
# Changes that make an announced wave worth a ``wave.updated``.
GROWTH = 1.25
SCORE_STEP = 0.1
# A closed wave that ended longer than this before the newest data is history (a
# backfill of old data announces nothing about it).
RECENT_S = 86_400.0
# A claimed delivery is someone's for this long past its attempt's deadline; after that
# another process retries it.
CLAIM_MARGIN = timedelta(seconds=60)
POLL_S = 0.25
# After the database failed the claim, the dispatcher waits this long before trying again.
CLAIM_RETRY_S = 5.0
# Attempts in flight at once, one per subscription at most.
MAX_IN_FLIGHT = 32
MAX_DELAY_S = 3600.0


class DestinationRefused(ValueError):
    """A webhook URL the service will not send to."""


# IPv6 ranges that carry an IPv4 address in their last 32 bits: well-known NAT64 and
# the deprecated IPv4-compatible form.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# Local-use NAT64 (RFC 8215): its prefixes vary in length, so where the IPv4 address
# sits is the operator's choice; it is for a site's own networks, never public.
LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address maps to or carries: mapped (``::ffff:a.b.c.d``),
    6to4 (``2002::/16``), both ends of Teredo (``2001::/32``), well-known NAT64 and
    IPv4-compatible.
    Packets to such an address can end at that IPv4 host, so it is judged as that host
    (Python's own ``is_global`` calls some of them global)."""
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo is not None:
        found += list(address.teredo)
    carries_low_bits = address in NAT64 or (
        address in IPV4_COMPATIBLE and int(address) > 1  # not :: nor ::1
    )
    if carries_low_bits:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def address_allowed(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, private_ok: bool
) -> bool:
    """Whether a webhook may be sent to ``address``: never to an unspecified or multicast
    address; otherwise, unless ``private_ok``, only to public ones, an IPv6 address that
    embeds IPv4 only when every IPv4 address it embeds is public, and never to
    site-local IPv6 (``fec0::/10``) nor local-use NAT64 (``64:ff9b:1::/48``)."""
    if address.is_unspecified or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        if embedded:
            return all(address_allowed(inner, private_ok) for inner in embedded)
        if (address.is_site_local or address in LOCAL_NAT64) and not private_ok:
            return False
    return private_ok or (address.is_global and not address.is_reserved)


def resolve_destination(url: str, private_ok: bool) -> str:
    """The address to send to: ``url``'s host resolved once, every address checked
    (a name that also resolves to a private address is refused)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise DestinationRefused(f"not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise DestinationRefused("the URL must be http:// or https:// with a host")
    if parsed.userinfo:
        raise DestinationRefused("the URL must not carry credentials; use the secret")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parsed.host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationRefused(f"the host {parsed.host} does not resolve ({exc})") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    refused = [str(a) for a in addresses if not address_allowed(a, private_ok)]
    if refused or not addresses:
        raise DestinationRefused(
            f"the host {parsed.host} resolves to a loopback, private, link-local or reserved "
            f"address ({', '.join(refused)}); set MRD_WEBHOOK_ALLOW_PRIVATE=1 to allow it"
        )
    return str(addresses[0])


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """``X-MRD-Signature``: HMAC-SHA256 of ``timestamp.body`` keyed with the secret."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def _changed(alert: Any, wave: WaveSummary) -> bool:
    return bool(
        wave.label != alert.label
        or wave.status != alert.status
        or wave.report_count >= alert.report_count * GROWTH
        or abs(wave.score - alert.score) >= SCORE_STEP
    )


def _alert_values(wave: WaveSummary, now: datetime) -> dict[str, Any]:
    return {
        **wave_columns(wave),
        "report_count": wave.report_count,
        "announced_at": now,
    }


def announce_waves(
    conn: Connection, waves: Sequence[WaveSummary], newest: float | None = None
) -> int:
    """Queue deliveries for the waves that are news to subscribers; how many events.

    ``newest`` (epoch seconds of the newest data) lets a full run skip closed waves
    that ended long before it; the fast path's waves are always recent."""
    subscriptions = conn.execute(select(Webhook.webhook_id, Webhook.events)).all()
    if not subscriptions:
        return 0
    horizon = None if newest is None else newest - RECENT_S
    targets = sorted({w.target_id for w in waves})
    alerts: dict[str, list[Any]] = {}
    for chunk in in_chunks(targets):
        for alert in conn.execute(select(WaveAlert).where(WaveAlert.target_id.in_(chunk))):
            alerts.setdefault(alert.target_id, []).append(alert)
    now = datetime.now(UTC)
    events: list[tuple[str, WaveSummary]] = []
    for wave in waves:
        start, end = parse_time(wave.start), parse_time(wave.end)
        known = next(
            (
                a
                for a in alerts.get(wave.target_id, [])
                if a.wave_id == wave.wave_id or (a.start <= end and a.end >= start)
            ),
            None,
        )
        if known is None:
            recent = wave.status == "active" or horizon is None or end.timestamp() >= horizon
            if wave.label != "orchestrated" or not recent:
                continue
            conn.execute(
                insert(WaveAlert).values(alert_id=wave.wave_id, **_alert_values(wave, now))
            )
            events.append(("wave.detected", wave))
        elif _changed(known, wave):
            conn.execute(
                update(WaveAlert)
                .where(WaveAlert.alert_id == known.alert_id)
                .values(_alert_values(wave, now) | {"start": min(start, known.start)})
            )
            events.append(("wave.updated", wave))
        elif end > known.end or wave.wave_id != known.wave_id:
            conn.execute(
                update(WaveAlert)
                .where(WaveAlert.alert_id == known.alert_id)
                .values(wave_id=wave.wave_id, end=max(end, known.end))
            )
    rows: list[dict[str, Any]] = []
    for event, wave in events:
        event_id = f"evt_{uuid.uuid4().hex}"
        summary = wave.model_dump(mode="json", exclude_unset=True, exclude={"reporters"})
        body = orjson.dumps(
            {"event_id": event_id, "event": event, "created_at": now.isoformat(), "wave": summary}
        ).decode()
        rows.extend(
            {
                "delivery_id": f"dlv_{uuid.uuid4().hex}",
                "webhook_id": webhook_id,
                "event_id": event_id,
                "event": event,
                "wave_id": wave.wave_id,
                "body": body,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for webhook_id, wanted in subscriptions
            if event in wanted
        )
    if rows:
        conn.execute(insert(WebhookDelivery), rows)
        log.info("queued %d webhook deliveries for %d wave events", len(rows), len(events))
    return len(events)


@dataclass(frozen=True)
class Attempt:
    delivery_id: str
    webhook_id: str
    url: str
    secret: str
    event: str
    body: str
    attempts: int


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None
    error: str | None


def retry_delay(attempts: int, base_s: float) -> float:
    """Exponential backoff after the ``attempts``-th failure: base, 2x, 4x, ... capped."""
    return float(min(base_s * 2 ** (attempts - 1), MAX_DELAY_S))


def _next_due(now: datetime, busy: Sequence[str]) -> Select[Any]:
    """The oldest due delivery of each subscription that has no attempt in flight."""
    rank = (
        func.row_number()
        .over(partition_by=WebhookDelivery.webhook_id, order_by=WebhookDelivery.next_attempt_at)
        .label("rank")
    )
    due = (
        select(WebhookDelivery.delivery_id, WebhookDelivery.webhook_id, rank)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .subquery()
    )
    query = select(due.c.delivery_id).where(due.c.rank == 1)
    if busy:
        query = query.where(due.c.webhook_id.not_in(list(busy)))
    return query


class WebhookDispatcher:
    """The delivery thread of one process: claims due deliveries and sends them.

    Each subscription has at most one attempt in flight in a process, and
    subscriptions never wait for one another: every attempt runs on its
    own and is recorded as soon as it ends, while the loop goes on claiming. An
    attempt has ``MRD_WEBHOOK_TIMEOUT_S`` in all, from resolving the host to the end
    of the answer's headers, and the answer's body is never read: a receiver that
    trickles bytes or answers with gigabytes costs one slot for that long and nothing
    more.
    """

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.private_ok = settings.webhook_allow_private
        self.base_s = settings.webhook_retry_base_s
        self.max_attempts = settings.webhook_max_attempts
        self.deadline_s = settings.webhook_timeout_s
        self.claim = CLAIM_MARGIN + timedelta(seconds=self.deadline_s)
        # Host lookups and database work run in pools of their own: a lookup the deadline
        # gave up on still holds its thread, and must not hold up claiming or recording.
        self._lookups = ThreadPoolExecutor(MAX_IN_FLIGHT, thread_name_prefix="mrd-lookup")
        self._database = ThreadPoolExecutor(2, thread_name_prefix="mrd-deliveries")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mrd-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.deadline_s + 30)
        self._lookups.shutdown(wait=False, cancel_futures=True)
        self._database.shutdown(wait=True)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        in_flight: dict[str, asyncio.Task[None]] = {}
        async with httpx.AsyncClient(
            timeout=self.deadline_s, follow_redirects=False, trust_env=False
        ) as client:
            while not self._stop.is_set():
                room = MAX_IN_FLIGHT - len(in_flight)
                pause = POLL_S
                try:
                    claimed = await loop.run_in_executor(
                        self._database, self.claim_due, list(in_flight), room
                    )
                except Exception:
                    log.exception("webhook dispatcher could not claim deliveries")
                    claimed, pause = [], CLAIM_RETRY_S
                for attempt in claimed:
                    in_flight[attempt.webhook_id] = asyncio.create_task(
                        self._attempt(client, attempt, in_flight)
                    )
                await asyncio.sleep(pause)
            if in_flight:
                await asyncio.wait(list(in_flight.values()), timeout=self.deadline_s + 1)

    def claim_due(self, busy: Sequence[str], room: int) -> list[Attempt]:
        """Claim up to ``room`` due deliveries of subscriptions not in ``busy``."""
        if room <= 0:
            return []
        # A read first: the poll runs four times a second in every background process,
        # and a write transaction each time would queue behind ingest for nothing.
        with self.db.engine.connect() as conn:
            due = conn.scalars(_next_due(datetime.now(UTC), busy).limit(room)).all()
        if not due:
            return []
        return self.db.run_write(lambda conn: self._claim(conn, list(due)))

    def _claim(self, conn: Connection, delivery_ids: list[str]) -> list[Attempt]:
        now = datetime.now(UTC)
        due = conn.execute(
            select(
                WebhookDelivery.delivery_id,
                WebhookDelivery.webhook_id,
                WebhookDelivery.next_attempt_at,
                WebhookDelivery.event,
                WebhookDelivery.body,
                WebhookDelivery.attempts,
                Webhook.url,
                Webhook.secret,
            )
            .join(Webhook, Webhook.webhook_id == WebhookDelivery.webhook_id)
            .where(
                WebhookDelivery.delivery_id.in_(delivery_ids),
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
            )
        ).all()
        claimed = []
        for row in due:
            # Another process may have claimed it since the select: the update then misses.
            taken = conn.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.delivery_id == row.delivery_id,
                    WebhookDelivery.status == "pending",
                    WebhookDelivery.next_attempt_at == row.next_attempt_at,
                )
                .values(next_attempt_at=now + self.claim)
            )
            if taken.rowcount == 1:
                claimed.append(
                    Attempt(
                        row.delivery_id,
                        row.webhook_id,
                        row.url,
                        row.secret,
                        row.event,
                        row.body,
                        row.attempts,
                    )
                )
        return claimed

    async def _attempt(
        self,
        client: httpx.AsyncClient,
        attempt: Attempt,
        in_flight: dict[str, asyncio.Task[None]],
    ) -> None:
        """Send, record the outcome, and free the subscription's slot."""
        try:
            outcome = await self.send(client, attempt)
            await asyncio.get_running_loop().run_in_executor(
                self._database,
                self.db.run_write,
                lambda conn: self._record(conn, attempt, outcome),
            )
        except Exception:
            # The claim expires and another attempt is made: at least once, never lost.
            log.exception("could not record webhook delivery %s", attempt.delivery_id)
        finally:
            in_flight.pop(attempt.webhook_id, None)

    async def send(self, client: httpx.AsyncClient, attempt: Attempt) -> Outcome:
        """One attempt, within the deadline; only the answer's status is read."""
        body = attempt.body.encode()
        try:
            async with asyncio.timeout(self.deadline_s):
                address = await asyncio.get_running_loop().run_in_executor(
                    self._lookups, resolve_destination, attempt.url, self.private_ok
                )
                target = httpx.URL(attempt.url)
                request = client.build_request(
                    "POST",
                    target.copy_with(host=address),
                    content=body,
                    headers={
                        "Host": target.netloc.decode("ascii"),
                        "Content-Type": "application/json",
                        "User-Agent": f"mrd-webhooks/{__version__}",
                        "X-MRD-Event": attempt.event,
                        "X-MRD-Delivery": attempt.delivery_id,
                        "X-MRD-Signature": signature(attempt.secret, body, int(time.time())),
                    },
                    extensions={"sni_hostname": target.host} if target.scheme == "https" else None,
                )
                response = await client.send(request, stream=True)
                await response.aclose()
        except DestinationRefused as exc:
            return Outcome(False, None, f"refused: {exc}")
        except TimeoutError:
            return Outcome(False, None, f"no answer within {self.deadline_s:g} s")
        except httpx.HTTPError as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= response.status_code < 300:
            return Outcome(True, response.status_code, None)
        return Outcome(False, response.status_code, f"HTTP {response.status_code}")

    def _record(self, conn: Connection, attempt: Attempt, outcome: Outcome) -> None:
        now = datetime.now(UTC)
        attempts = attempt.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_status_code": outcome.status_code,
            "last_error": outcome.error,
        }
        if outcome.delivered:
            values |= {"status": "delivered", "delivered_at": now}
        elif attempts >= self.max_attempts:
            values |= {"status": "dead"}
            log.warning(
                "webhook delivery %s dead after %d attempts: %s",
                attempt.delivery_id,
                attempts,
                outcome.error,
            )
        else:
            delay = retry_delay(attempts, self.base_s)
            values |= {"next_attempt_at": now + timedelta(seconds=delay)}
        conn.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.delivery_id == attempt.delivery_id)
            .values(values)
        )
