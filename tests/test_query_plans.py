"""The read paths use indices: every statement the service runs to answer the hot
reads (enforcement checks, risk lookups, wave listings and details, groups, targets,
accounts) and the fast path's neighbourhood load is explained, on SQLite and on
PostgreSQL, and no large table may be read whole.

On PostgreSQL sequential scans are switched off for the EXPLAIN: a test database is
small enough that the planner would rightly prefer them, and with them off a plan
still shows a ``Seq Scan`` exactly when no index fits the query. There reports and
posts are partitioned by month: a scan of a partition counts as one of its table, and
a read bounded in time leaves the older months out.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Connection, event

from app.db.engine import Database
from app.db.partitions import month_start, next_month, parent_of, partitions
from app.services.live import load_neighbourhood
from app.tools.simulate import SCENARIOS, generate
from tests.conftest import CLIENT_TABLES, send, wait_for_run

# Tables that grow with the events or the results; the small ones (runs, keys,
# leases, webhooks) may be scanned.
LARGE = CLIENT_TABLES | {
    "analysis_waves",
    "analysis_accounts",
    "analysis_groups",
    "webhook_deliveries",
    "audit_events",
}
WORLD = generate(SCENARIOS["baseline"], seed=611, scale=0.1)


@pytest.fixture
def statements(client: httpx.Client, db: Database) -> Iterator[list[tuple[str, Any]]]:
    """The SELECT statements run while the test body makes its requests."""
    for kind in ("accounts", "edges", "posts", "reports", "decisions"):
        send(client, kind, getattr(WORLD, kind))
    run = wait_for_run(client, client.post("/v1/analysis/runs").json()["run_id"])
    assert run["status"] == "succeeded"
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _read_everything(client: httpx.Client, db: Database) -> None:
    # Readers look the newest run up at most once a second.
    deadline = time.monotonic() + 5
    while not (listed := client.get("/v1/waves", params={"label": "orchestrated"}).json())["items"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    wave = listed["items"][0]
    target = wave["target_id"]
    reporter = client.get(f"/v1/waves/{wave['wave_id']}").json()["reporters"][0]["account_id"]
    answers = [
        client.post("/v1/enforcement/check", json={"target_id": target}),
        client.post("/v1/accounts/risk", json={"account_ids": [target, reporter]}),
        client.get("/v1/waves", params={"target_id": target}),
        client.get("/v1/waves", params={"status": "active", "min_score": 0.5}),
        client.get("/v1/groups", params={"limit": 5}),
        client.get("/v1/targets", params={"limit": 5}),
        client.get(f"/v1/accounts/{reporter}"),
        client.get(f"/v1/accounts/{reporter}/risk"),
    ]
    assert all(answer.status_code == 200 for answer in answers)
    group = client.get("/v1/groups", params={"limit": 1}).json()["items"][0]
    assert client.get(f"/v1/groups/{group['group_id']}").status_code == 200
    with db.engine.connect() as conn:
        assert load_neighbourhood(conn, [target]).reports


def _full_scans(db: Database, statement: str, parameters: Any) -> list[str]:
    """The large tables ``statement`` reads whole, as its plan says."""
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            return [
                parent_of(node["Relation Name"])
                for node in _postgresql_plan(conn, statement, parameters)
                if node["Node Type"] == "Seq Scan"
                and parent_of(node.get("Relation Name", "")) in LARGE
            ]
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        # SQLite: "SEARCH t USING INDEX ..." looks rows up; "SCAN t" reads the table
        # (or a whole index) from end to end.
        scanned = [re.match(r"SCAN (\w+)", row[-1]) for row in rows]
        return [m.group(1) for m in scanned if m is not None and m.group(1) in LARGE]


def _postgresql_plan(conn: Connection, statement: str, parameters: Any) -> list[dict[str, Any]]:
    """The nodes of ``statement``'s plan, with sequential scans off."""
    conn.exec_driver_sql("SET enable_seqscan = off")
    (plan,) = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()
    conn.exec_driver_sql("RESET enable_seqscan")
    document = plan if isinstance(plan, dict) else orjson.loads(plan)[0]
    return list(_nodes(document["Plan"]))


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def test_hot_reads_and_the_fast_path_use_indices(
    client: httpx.Client, db: Database, statements: list[tuple[str, Any]]
) -> None:
    _read_everything(client, db)
    touching = [
        (sql, parameters)
        for sql, parameters in statements
        if any(re.search(rf"\b{table}\b", sql) for table in LARGE)
    ]
    assert len(touching) >= 15
    problems = {
        sql: scans for sql, parameters in touching if (scans := _full_scans(db, sql, parameters))
    }
    assert problems == {}


def test_reads_bounded_in_time_leave_older_months_out(client: httpx.Client, db: Database) -> None:
    """The fast path reads a target's reports of its last 30 days, and its reporters'
    of the same days: on PostgreSQL only the partitions of those days are read, each
    through an index."""
    if db.dialect != "postgresql":
        pytest.skip("reports are partitioned on PostgreSQL only")
    send(
        client,
        "reports",
        [
            {
                "event_id": f"m{month}-{day}",
                "reporter_id": f"r{day % 3}",
                "target_id": "brigaded",
                "reason": "spam",
                "created_at": f"2017-{month:02d}-{day:02d}T10:00:00Z",
            }
            for month in (1, 3, 5, 7)
            for day in range(10, 15)
        ],
    )
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if re.search(r"FROM reports\b.*created_at >=", statement, re.DOTALL):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.engine.connect() as conn:
            assert load_neighbourhood(conn, ["brigaded"]).reports
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(seen) == 2
    with db.engine.connect() as conn:
        for statement, parameters in seen:
            (since,) = [v for k, v in parameters.items() if k.startswith("created_at")]
            existing = partitions(conn, "reports")
            wanted = {p.name for p in existing if month_start(next_month(p.month)) > since}
            nodes = _postgresql_plan(conn, statement, parameters)
            read = {n["Relation Name"] for n in nodes if "Relation Name" in n}
            assert read == wanted and "reports_p2017_07" in read, (read, wanted)
            left_out = {p.name for p in existing} - read
            assert {"reports_p2017_01", "reports_p2017_03", "reports_p2017_05"} <= left_out
            assert {n["Node Type"] for n in nodes if "Relation Name" in n} <= {
                "Index Scan",
                "Index Only Scan",
                "Bitmap Heap Scan",
            }
