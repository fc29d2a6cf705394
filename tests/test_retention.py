"""Retention (``MRD_RETENTION_DAYS``): events older than the limit are deleted, the
platform's state (accounts, edges) is kept, and a second pass deletes nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from app.db.engine import Database
from app.db.models import Account, Decision, Edge, Post, PostHashtag, PostMention, Report
from app.services.retention import apply_retention
from tests.conftest import ADMIN_KEY, send, served_app

NOW = datetime.now(UTC).replace(microsecond=0)


def _iso(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _events(old: int, recent: int) -> dict[str, list[dict[str, object]]]:
    ages = [10.0] * old + [1.0] * recent
    return {
        "accounts": [{"account_id": "t", "created_at": _iso(400)}],
        "edges": [{"src": "r0", "dst": "t", "kind": "follow", "created_at": _iso(300)}],
        "reports": [
            {
                "event_id": f"e{i}",
                "reporter_id": f"r{i}",
                "target_id": "t",
                "reason": "spam",
                "created_at": _iso(age),
            }
            for i, age in enumerate(ages)
        ],
        "posts": [
            {
                "post_id": f"p{age:g}",
                "author_id": "boss",
                "created_at": _iso(age),
                "text": "report @t",
                "mentions": ["t"],
                "hashtags": ["#x"],
            }
            for age in (10.0, 1.0)
        ],
        "decisions": [
            {"decision_id": f"d{age:g}", "target_id": "t", "outcome": "no_violation",
             "decided_at": _iso(age)}
            for age in (10.0, 1.0)
        ],
    }  # fmt: skip


def _count(db: Database, column: object) -> int:
    with db.engine.connect() as conn:
        return int(conn.scalar(select(func.count(column))) or 0)


def test_old_events_go_and_state_stays(client: httpx.Client, db: Database) -> None:
    for kind, rows in _events(old=120, recent=30).items():
        send(client, kind, rows)
    assert apply_retention(db, days=5) == {"reports": 120, "posts": 1, "decisions": 1}
    with db.engine.connect() as conn:
        kept = set(conn.scalars(select(Report.created_at)))
        assert len(kept) == 1 and min(kept) > NOW - timedelta(days=5)
        assert set(conn.scalars(select(Post.post_id))) == {"p1"}
        assert set(conn.scalars(select(PostMention.post_id))) == {"p1"}
        assert set(conn.scalars(select(PostHashtag.post_id))) == {"p1"}
        assert set(conn.scalars(select(Decision.decision_id))) == {"d1"}
    assert _count(db, Report.seq) == 30
    assert _count(db, Account.account_id) >= 1 and _count(db, Edge.src) == 1
    assert apply_retention(db, days=5) == {"reports": 0, "posts": 0, "decisions": 0}
    # The analysis sees only what is kept.
    run_id = client.post("/v1/analysis/runs").json()["run_id"]
    deadline = time.monotonic() + 60
    while (run := client.get(f"/v1/analysis/runs/{run_id}").json())["status"] != "succeeded":
        assert run["status"] in ("queued", "running") and time.monotonic() < deadline
        time.sleep(0.1)
    assert run["stats"]["reports"] == 30


def test_a_service_with_retention_deletes_at_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'retention.db'}"
    with served_app(url, ADMIN_KEY) as client:
        for kind, rows in _events(old=5, recent=5).items():
            send(client, kind, rows)
    db = Database(url)
    assert _count(db, Report.seq) == 10
    with served_app(url, ADMIN_KEY, retention_days=5):
        deadline = time.monotonic() + 10
        while _count(db, Report.seq) != 5:
            assert time.monotonic() < deadline, "retention did not run at start"
            time.sleep(0.05)
    db.dispose()
