"""A Mastodon server's admin webhooks as report intake, on SQLite and PostgreSQL.

Payloads carry the fields of Mastodon's own serializers (read from mastodon/mastodon:
``REST::Admin::WebhookEventSerializer`` 9a63ac6, ``REST::Admin::ReportSerializer``
65fc957, ``REST::Admin::AccountSerializer`` 6e3baff) and are signed as
``Webhooks::DeliveryWorker`` signs them: ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of
the body with the webhook's secret>``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from app.db.engine import Database
from tests.conftest import clear_database, snapshot, wait_for_run

DOMAIN = "social.example.org"
SECRET = "the-secret-typed-into-mastodons-form"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def admin_account(n: int, username: str, domain: str | None, age_days: float) -> dict[str, Any]:
    """``REST::Admin::AccountSerializer``, its ``account`` a ``REST::AccountSerializer``."""
    created = iso(START - timedelta(days=age_days))
    return {
        "id": str(n),
        "username": username,
        "domain": domain,
        "created_at": created,
        "email": f"{username}@mail.example" if domain is None else None,
        "ip": None,
        "role": None,
        "confirmed": True,
        "suspended": False,
        "silenced": False,
        "sensitized": False,
        "disabled": False,
        "approved": True,
        "locale": "ar",
        "invite_request": None,
        "ips": [],
        "account": {
            "id": str(n),
            "username": username,
            "acct": username if domain is None else f"{username}@{domain}",
            "display_name": f"أنصار {n}" if username.startswith("ansar") else "Mosul Watch",
            "locked": False,
            "bot": False,
            "created_at": created,
            "note": "",
            "url": f"https://{domain or DOMAIN}/@{username}",
            "followers_count": 12,
            "following_count": 40,
            "statuses_count": 3,
        },
    }


def report(
    report_id: int,
    reporter: dict[str, Any],
    target: dict[str, Any],
    at: datetime,
    statuses: list[str] = (),  # type: ignore[assignment]
    category: str = "violation",
    comment: str = "هذا الحساب يدعم الإرهاب",
) -> dict[str, Any]:
    """``REST::Admin::ReportSerializer``."""
    return {
        "id": str(report_id),
        "action_taken": False,
        "category": category,
        "comment": comment,
        "created_at": iso(at),
        "updated_at": iso(at),
        "account": reporter,
        "target_account": target,
        "assigned_account": None,
        "action_taken_by_account": None,
        "statuses": [
            {
                "id": status,
                "created_at": iso(at - timedelta(hours=3)),
                "uri": f"https://news.example/users/mosul_watch/statuses/{status}",
                "url": f"https://news.example/@mosul_watch/{status}",
                "content": "<p>تقرير عن الموصل</p>",
                "visibility": "public",
            }
            for status in statuses
        ],
        "rules": [{"id": "3", "text": "No hate speech", "hint": ""}],
    }


def event(name: str, obj: dict[str, Any]) -> bytes:
    """``REST::Admin::WebhookEventSerializer``, serialised as Mastodon sends it."""
    return orjson.dumps({"event": name, "created_at": obj["updated_at"], "object": obj})


def signature(body: bytes, secret: str = SECRET) -> str:
    """``X-Hub-Signature`` as ``Webhooks::DeliveryWorker`` computes it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(
    client: httpx.Client, integration_id: str, body: bytes, secret: str = SECRET
) -> httpx.Response:
    return client.post(
        f"/v1/integrations/mastodon/{integration_id}",
        content=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature": signature(body, secret)},
    )


def connect(client: httpx.Client) -> str:
    made = client.post(
        "/v1/integrations", json={"kind": "mastodon", "domain": DOMAIN, "secret": SECRET}
    )
    assert made.status_code == 201, made.text
    assert made.json()["url"] == f"/v1/integrations/mastodon/{made.json()['integration_id']}"
    return str(made.json()["integration_id"])


TARGET = admin_account(9, "mosul_watch", "news.example", age_days=900)


def test_a_signed_report_is_stored_and_a_redelivery_is_a_duplicate(
    client: httpx.Client, db: Database
) -> None:
    integration = connect(client)
    reporter = admin_account(7, "ansar_7", None, age_days=3)
    filed = report(1042, reporter, TARGET, START, statuses=["111", "112"])
    first = deliver(client, integration, event("report.created", filed))
    assert first.status_code == 200, first.text
    assert first.json() == {
        "event": "report.created",
        "ignored": False,
        "accepted": 2,
        "duplicates": 0,
        "rejected": [],
        "accounts_rejected": [],
    }
    # The accounts, qualified by domain (a local account takes the server's).
    stored = client.get("/v1/accounts/ansar_7@social.example.org").json()
    assert stored["handle"] == "ansar_7" and stored["display_name"] == "أنصار 7"
    assert client.get("/v1/accounts/mosul_watch@news.example").json()["handle"] == "mosul_watch"
    again = deliver(client, integration, event("report.created", filed))
    assert again.json()["accepted"] == 0 and again.json()["duplicates"] == 2
    # An update naming one more status adds only that one.
    updated = filed | {
        "statuses": [*filed["statuses"], report(0, reporter, TARGET, START, ["113"])["statuses"][0]]
    }
    more = deliver(client, integration, event("report.updated", updated))
    assert more.json()["accepted"] == 1 and more.json()["duplicates"] == 2
    # Events that are not reports are acknowledged and ignored.
    other = deliver(
        client, integration, event("account.approved", reporter | {"updated_at": iso(START)})
    )
    assert other.status_code == 200 and other.json()["ignored"] is True
    metrics = client.get("/metrics").text
    assert 'mrd_integration_deliveries_total{kind="mastodon",outcome="stored"}' in metrics


def test_a_wrong_signature_is_401_and_stores_nothing(client: httpx.Client, db: Database) -> None:
    integration = connect(client)
    body = event("report.created", report(1, admin_account(7, "ansar_7", None, 3), TARGET, START))
    before = snapshot(db)
    for answer in (
        deliver(client, integration, body, secret="not-the-secret-at-all"),
        client.post(
            f"/v1/integrations/mastodon/{integration}",
            content=body,
            headers={"Content-Type": "application/json"},
        ),
        deliver(client, "int_" + "0" * 32, body),
        # Not even ASCII.
        client.post(
            f"/v1/integrations/mastodon/{integration}",
            content=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature": b"sha256=\xe9"},
        ),
        # Signed, then altered on the way.
        client.post(
            f"/v1/integrations/mastodon/{integration}",
            content=body.replace(b"violation", b"spam"),
            headers={"Content-Type": "application/json", "X-Hub-Signature": signature(body)},
        ),
    ):
        assert answer.status_code == 401, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    assert snapshot(db) == before
    # Disconnected: its deliveries are refused from then on.
    assert client.delete(f"/v1/integrations/{integration}").status_code == 204
    assert deliver(client, integration, body).status_code == 401
    assert client.get("/v1/integrations").json()["items"] == []


def brigade() -> list[dict[str, Any]]:
    """300 new accounts reporting one analyst within twenty minutes, the same words,
    and 120 ordinary reports on other accounts spread over the days before."""
    filed = []
    for n in range(300):
        reporter = admin_account(1000 + n, f"ansar_{n}", None if n % 2 else "other.example", 4)
        at = START + timedelta(seconds=4 * n)
        filed.append(report(5000 + n, reporter, TARGET, at, statuses=["777"]))
    for n in range(120):
        reporter = admin_account(3000 + n, f"reader_{n}", None, 800 + n)
        target = admin_account(4000 + n % 40, f"spammer_{n % 40}", "spam.example", 30)
        at = START - timedelta(hours=2 + 3 * n)
        filed.append(report(9000 + n, reporter, target, at, category="spam", comment=f"spam {n}"))
    return filed


def outcome(client: httpx.Client) -> tuple[list[tuple[Any, ...]], str]:
    run = client.post("/v1/analysis/runs").json()
    assert wait_for_run(client, run["run_id"])["status"] == "succeeded"
    time.sleep(1.1)  # readers look the newest run up at most once a second
    waves = client.get("/v1/waves", params={"limit": 1000}).json()["items"]
    shown = sorted(
        (w["target_id"], w["start"], w["end"], w["report_count"], w["score"], w["label"])
        for w in waves
    )
    check = client.post("/v1/enforcement/check", json={"target_id": "mosul_watch@news.example"})
    return shown, check.json()["action"]


def test_a_brigade_sent_as_mastodon_webhooks_is_judged_like_the_same_reports(
    client: httpx.Client, db: Database
) -> None:
    integration = connect(client)
    filed = brigade()
    for one in filed:
        answer = deliver(client, integration, event("report.created", one))
        assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text
    by_webhook = outcome(client)
    assert any(w[0] == "mosul_watch@news.example" and w[5] == "orchestrated" for w in by_webhook[0])
    assert by_webhook[1] == "hold_for_review"

    clear_database(db)

    def qualified(account: dict[str, Any]) -> str:
        return f"{account['username']}@{account['domain'] or DOMAIN}"

    accounts = {
        qualified(a): {
            "account_id": qualified(a),
            "handle": a["username"],
            "display_name": a["account"]["display_name"],
            "created_at": a["created_at"],
            "followers_count": 12,
            "following_count": 40,
            "status": "active",
        }
        for one in filed
        for a in (one["account"], one["target_account"])
    }
    assert (
        client.post("/v1/accounts", json={"accounts": list(accounts.values())}).json()["rejected"]
        == []
    )
    reports = [
        {
            "event_id": f"mastodon:{DOMAIN}:{one['id']}"
            + (f":{one['statuses'][0]['id']}" if one["statuses"] else ""),
            "reporter_id": qualified(one["account"]),
            "target_id": qualified(one["target_account"]),
            "reason": one["category"],
            "created_at": one["created_at"],
            "text": one["comment"],
            **({"content_id": one["statuses"][0]["uri"]} if one["statuses"] else {}),
        }
        for one in filed
    ]
    assert client.post("/v1/reports", json={"reports": reports}).json()["accepted"] == len(reports)
    assert outcome(client) == by_webhook
