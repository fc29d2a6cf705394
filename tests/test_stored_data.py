"""The analysing process's copy of the stored data: runs that read only what changed
give the same ``Data`` (and so the same documents) as a read of everything, on SQLite
and PostgreSQL, through additions, changes, links and deletions."""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, delete, insert, select, update

from app.db import snapshot
from app.db.engine import Database
from app.db.models import Account, Report
from app.detection.data import build_data_batches
from app.detection.pipeline import analyze
from app.detection.shapes import shape
from app.detection.store import EntityStore, conformed, table_of
from app.services.retention import apply_retention
from app.services.stored_data import FULL_EVERY_S, MARGIN_S, StoredData
from app.tools.simulate import SCENARIOS, generate
from tests.conftest import send, wait_for_run
from tests.test_data_builder import assert_same
from tests.test_idempotency_property import KEYS

KINDS = ("accounts", "edges", "posts", "decisions", "reports")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _read_everything(db: Database) -> Any:
    """What a process that never read before reads."""
    data, report = StoredData().load(db)
    assert report.mode == "full"
    return data


Rows = dict[str, list[Any]]


def _parts(world: Any, share: float, seed: int) -> tuple[Rows, Rows]:
    """Each kind's rows cut at ``share`` after a shuffle: what is sent first, the rest."""
    first: Rows = {}
    rest: Rows = {}
    for kind in KINDS:
        rows = list(getattr(world, kind))
        random.Random(seed).shuffle(rows)
        cut = int(len(rows) * share)
        first[kind], rest[kind] = rows[:cut], rows[cut:]
    return first, rest


def _changes(stored: Rows, seed: int) -> Rows:
    """New versions of stored rows: accounts suspended, edges re-weighted, posts
    with other mentions (the post itself unchanged), decisions reversed."""
    pick = random.Random(seed)
    world = SimpleNamespace(**stored)
    accounts = [
        a | {"status": "suspended", "status_changed_at": "2017-08-01T00:00:00Z"}
        for a in pick.sample(world.accounts, 20)
    ]
    edges = [e | {"weight": (e.get("weight") or 1) + 3} for e in pick.sample(world.edges, 30)]
    others = [a["account_id"] for a in pick.sample(world.accounts, 10)]
    posts = [
        p | {"mentions": others[: 1 + i % 3]} for i, p in enumerate(pick.sample(world.posts, 10))
    ]
    decisions = [
        d | {"outcome": "no_violation" if d["outcome"] == "violation" else "violation"}
        for d in world.decisions[:2]
    ]
    return {"accounts": accounts, "edges": edges, "posts": posts, "decisions": decisions}


def _send_all(client: httpx.Client, rows: dict[str, list[Any]]) -> None:
    for kind in KINDS:
        if rows.get(kind):
            send(client, kind, rows[kind])


def _age(db: Database) -> None:
    """Every stored change stamped long ago, as if the last run were minutes back."""
    long_ago = datetime.now(UTC) - timedelta(seconds=2 * MARGIN_S)
    for model in snapshot.CHANGING.values():
        db.run_write(lambda conn, m=model: conn.execute(update(m).values(updated_at=long_ago)))


@pytest.mark.parametrize(
    ("family", "scale"), [("baseline", 0.1), ("bystanders", 0.3), ("graph_heavy", 0.02)]
)
def test_runs_that_read_changes_give_what_reading_everything_gives(
    client: httpx.Client, db: Database, family: str, scale: float
) -> None:
    world = generate(SCENARIOS[family], seed=41, scale=scale)
    first, rest = _parts(world, 0.7, seed=3)
    later, last = _parts(SimpleNamespace(**rest), 0.5, seed=4)
    clock = Clock()
    stored = StoredData(clock)

    _send_all(client, first)
    data, report = stored.load(db)
    assert report.mode == "full" and report.reason == "first run of this process"
    assert_same(data, _read_everything(db))

    before: Rows = {}
    for step in (later, _changes(first, seed=5), last):
        _age(db)
        clock.now += MARGIN_S + 1
        _send_all(client, step)
        data, report = stored.load(db)
        assert report.mode == "changes", report
        assert report.reason == "rows changed since the last run"
        # Only what this step sent was read, and the reports of the step before: a
        # report committed after the last read was numbered after the read before it.
        sent = {kind: len({KEYS[kind](row) for row in step.get(kind, ())}) for kind in KINDS}
        sent["reports"] += len(before.get("reports", ()))
        assert report.rows_read == sent
        before = step
        assert_same(data, _read_everything(db))

    assert len(data.reports) == len(world.reports) - sum(
        r["reporter_id"] == r["target_id"] for r in world.reports
    )
    whole = _read_everything(db)
    assert shape(analyze(data)).as_json() == shape(analyze(whole)).as_json()


def test_a_full_read_gives_what_the_database_gives_in_key_order(
    client: httpx.Client, db: Database
) -> None:
    world = generate(SCENARIOS["baseline"], seed=42, scale=0.1)
    _send_all(client, {kind: list(getattr(world, kind)) for kind in KINDS})
    with db.engine.connect() as conn:
        stored = snapshot.everything(conn)
        expected = build_data_batches(
            stored.accounts, stored.edges, stored.posts, stored.reports, stored.decisions
        )
    assert_same(_read_everything(db), expected)


def test_the_columnar_reader_reads_what_the_row_reader_reads(
    client: httpx.Client, db: Database
) -> None:
    """SQLite's columnar reader tells each column's type from its values: columns null
    for thousands of rows before the first value, columns null throughout, labels, and
    posts with several links, none, or links only, read as the row reader reads them."""
    quiet = [{"account_id": f"q{i:05d}"} for i in range(3_000)]
    loud = {
        "account_id": "z-last",
        "handle": "ظاهر",
        "created_at": "2017-01-01T00:00:00Z",
        "followers_count": 2**62,
        "labels": ["journalist", "verified_press"],
        "status": "suspended",
        "status_changed_at": "2017-08-01T00:00:00Z",
    }
    send(client, "accounts", [*quiet, loud])
    edges = [{"src": f"q{i:05d}", "dst": "z-last", "kind": "follow"} for i in range(2_000)]
    edges.append({"src": "z-last", "dst": "q00001", "kind": "retweet", "weight": 7,
                  "created_at": "2017-07-01T00:00:00Z"})  # fmt: skip
    send(client, "edges", edges)
    at = {"created_at": "2017-07-01T00:00:00Z"}
    posts = [{"post_id": f"p{i:05d}", "author_id": "q00002", **at} for i in range(2_000)]
    posts += [
        {"post_id": "p1-many", "author_id": "z-last", "created_at": "2017-07-01T00:00:00Z",
         "mentions": ["q00009", "q00003", "z-last"], "hashtags": ["بلغ", "#Report"]},
        {"post_id": "p2-reshare", "author_id": "q00004", "reshare_of": "p1-many",
         "reply_to": "p00001", "mentions": ["q00005"], **at},
    ]  # fmt: skip
    send(client, "posts", posts)
    reports = [_report(f"r{i:05d}", f"q{i % 50:05d}", "z-last") for i in range(2_000)]
    reports.append(_report("r-last", "q00001", "z-last") | {"content_id": "p1-many", "text": "x"})
    send(client, "reports", reports)
    decided = {"outcome": "violation", "decided_at": "2017-07-02T00:00:00Z"}
    send(client, "decisions", [{"decision_id": "d1", "target_id": "z-last", **decided}])
    with db.consistent_read() as conn:
        tables = snapshot.whole_tables(conn)
        if db.dialect != "sqlite":
            assert tables is None  # PostgreSQL: the row reader
            return
        assert tables is not None
        for kind in KINDS:
            rows = table_of(kind, snapshot.every(conn, kind))
            assert conformed(kind, tables[kind]).equals(rows), kind
    assert_same(_read_everything(db), build_data_batches(*_row_batches(db)))
    # The driver's own SQLite never runs beside this process's (columnar.py).
    assert "adbc_driver_sqlite" not in sys.modules


def test_the_columnar_reader_reads_database_files_only(tmp_path: Path) -> None:
    """A ``file:`` URI keeps options of its own (read only, say) and a database in memory
    is not a file another process could open: the rows are read there."""
    for url in (f"sqlite:///file:{tmp_path / 'uri.db'}?uri=true", "sqlite://"):
        engine = create_engine(url)
        with engine.connect() as conn:
            assert snapshot.whole_tables(conn) is None, url
        engine.dispose()


def test_a_failed_columnar_read_falls_back_to_the_rows(
    client: httpx.Client, db: Database, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    world = generate(SCENARIOS["baseline"], seed=50, scale=0.05)
    _send_all(client, {kind: list(getattr(world, kind)) for kind in KINDS})
    expected = build_data_batches(*_row_batches(db))
    monkeypatch.setattr(sys, "executable", "/bin/false")  # the reading process fails
    assert_same(_read_everything(db), expected)
    if db.dialect == "sqlite":
        assert "the columnar reader failed (exit code 1): reading the rows instead" in caplog.text


def _row_batches(db: Database) -> list[list[Any]]:
    """Every kind as the row reader gives it, in the builder's order."""
    with db.engine.connect() as conn:
        stored = snapshot.everything(conn)
        return [
            list(batches)
            for batches in (
                stored.accounts,
                stored.edges,
                stored.posts,
                stored.reports,
                stored.decisions,
            )
        ]


def test_a_late_write_inside_the_margin_is_read_and_one_outside_is_found_by_the_counts(
    client: httpx.Client, db: Database
) -> None:
    world = generate(SCENARIOS["baseline"], seed=44, scale=0.1)
    _send_all(client, {kind: list(getattr(world, kind)) for kind in KINDS})
    clock = Clock()
    stored = StoredData(clock)
    stored.load(db)
    began = stored.read_at
    assert began is not None

    def add_account(account_id: str, stamped: datetime) -> None:
        row = {"account_id": account_id, "handle": account_id, "updated_at": stamped}
        db.run_write(lambda conn: conn.execute(insert(Account).values(**row)))

    # Committed after the last read, stamped before it began.
    add_account("late-inside", began - timedelta(seconds=MARGIN_S / 2))
    clock.now += 10
    data, report = stored.load(db)
    assert report.reason == "rows changed since the last run"
    assert "late-inside" in data.accounts.ids
    # Stamped before the margin: not read as a change, but the count tells.
    add_account("late-outside", began - timedelta(seconds=2 * MARGIN_S))
    clock.now += 10
    data, report = stored.load(db)
    assert report.reason == "read whole after row counts differed: accounts", report
    assert "late-outside" in data.accounts.ids
    assert_same(data, _read_everything(db))


def test_deleted_rows_leave_the_copy(client: httpx.Client, db: Database) -> None:
    world = generate(SCENARIOS["baseline"], seed=45, scale=0.1)
    _send_all(client, {kind: list(getattr(world, kind)) for kind in KINDS})
    stored = StoredData()
    stored.load(db)
    gone = sorted(r["event_id"] for r in world.reports)[:100]
    db.run_write(lambda conn: conn.execute(delete(Report).where(Report.event_id.in_(gone))))
    data, report = stored.load(db)
    assert report.reason == "read whole after row counts differed: reports"
    assert not set(gone) & set(data.reports.event_id)
    assert_same(data, _read_everything(db))


def test_retention_is_seen_even_when_as_many_rows_arrive(
    client: httpx.Client, db: Database
) -> None:
    """Retention deletes the oldest rows and as many new ones arrive before the next run
    (on SQLite the newest report's number can even be handed out again): the counts
    match, and the deletions, counted apart, still make the run read those kinds."""
    world = generate(SCENARIOS["baseline"], seed=49, scale=0.1)
    reports = sorted(world.reports, key=lambda r: r["created_at"])
    held = reports[-50:]
    _send_all(
        client, {kind: list(getattr(world, kind)) for kind in KINDS} | {"reports": reports[:-50]}
    )
    stored = StoredData()
    stored.load(db)
    limit = datetime.fromisoformat(reports[200]["created_at"])  # the reports before it go
    old = [r for r in reports if datetime.fromisoformat(r["created_at"]) < limit]
    assert len(old) > len(held)
    now = limit + timedelta(days=1)
    deleted = apply_retention(db, days=1, now=now)
    assert deleted["reports"] == len(old)
    # As many new reports as were deleted: the counts alone would not tell.
    extra = [r | {"event_id": f"{r['event_id']}-again"} for r in old[: len(old) - len(held)]]
    send(client, "reports", held + extra)
    data, report = stored.load(db)
    deleted_kinds = report.reason.removeprefix("read whole after rows deleted: ").split(", ")
    assert "reports" in deleted_kinds, report
    assert_same(data, _read_everything(db))


def test_large_counts_and_weights_are_kept(client: httpx.Client, db: Database) -> None:
    send(client, "accounts", [{"account_id": "big", "followers_count": 2**62}])
    send(client, "edges", [{"src": "big", "dst": "other", "kind": "follow", "weight": 2**62}])
    send(client, "reports", [_report("r1", "a", "big"), _report("r2", "b", "big")])
    stored = StoredData()
    data, _ = stored.load(db)
    assert data.accounts.followers[data.accounts.ids.index("big")] == float(2**62)
    assert data.edges.weight.tolist() == [float(2**62)]
    send(client, "accounts", [{"account_id": "big", "followers_count": 2**62 - 1}])
    data, report = stored.load(db)
    assert report.mode == "changes"
    assert_same(data, _read_everything(db))


def _report(event_id: str, reporter: str, target: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "reporter_id": reporter,
        "target_id": target,
        "reason": "spam",
        "created_at": "2017-07-01T00:00:00Z",
    }


def test_everything_is_read_again_after_a_while_and_when_asked(
    client: httpx.Client, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = generate(SCENARIOS["baseline"], seed=46, scale=0.1)
    _send_all(client, {kind: list(getattr(world, kind)) for kind in KINDS})
    clock = Clock()
    stored = StoredData(clock)
    assert stored.load(db)[1].mode == "full"
    clock.now += FULL_EVERY_S - 1
    assert stored.load(db)[1].mode == "changes"
    clock.now += 1
    assert stored.load(db)[1].reason == f"{FULL_EVERY_S:.0f} s since the last full read"
    assert stored.load(db, full=True)[1].reason == "asked for"
    # A read that fails part-way leaves no half-merged copy behind.
    merge = EntityStore.merge

    def merge_until_posts(store: EntityStore, kind: str, changed: Any) -> None:
        if kind == "posts":
            raise RuntimeError("the database went away")
        merge(store, kind, changed)

    monkeypatch.setattr(EntityStore, "merge", merge_until_posts)
    with pytest.raises(RuntimeError):
        stored.load(db)
    monkeypatch.undo()
    assert stored.load(db)[1].reason == "first run of this process"


def test_a_report_numbered_before_the_newest_seen_is_read(
    client: httpx.Client, db: Database
) -> None:
    """On PostgreSQL a write that took its sequence numbers first may commit after one
    that took later ones: reports are read from the numbers seen ``MARGIN_S`` ago."""
    world = generate(SCENARIOS["baseline"], seed=47, scale=0.1)
    reports = list(world.reports)
    _send_all(
        client, {kind: list(getattr(world, kind)) for kind in KINDS} | {"reports": reports[:-10]}
    )
    clock = Clock()
    stored = StoredData(clock)
    stored.load(db)
    send(client, "reports", reports[-10:])
    # One of them not committed yet when the next run reads.
    newest = stored.report_seqs[-1][1]
    with db.engine.connect() as conn:
        after = select(Report).where(Report.seq > newest).order_by(Report.seq)
        late = dict(conn.execute(after.offset(3).limit(1)).mappings().one())
    late_seq = late["seq"]
    late_row = {column.name: late[column.name] for column in Report.__table__.columns}
    db.run_write(lambda conn: conn.execute(delete(Report).where(Report.seq == late_seq)))
    clock.now += MARGIN_S + 80  # runs further apart than the margin
    data, report = stored.load(db)
    assert report.rows_read["reports"] == 9
    assert late_row["event_id"] not in data.reports.event_id
    # It commits now, numbered below the newest the last run saw.
    db.run_write(lambda conn: conn.execute(insert(Report).values(**late_row)))
    clock.now += MARGIN_S + 80
    data, report = stored.load(db)
    assert report.reason == "rows changed since the last run"
    assert late_row["event_id"] in data.reports.event_id
    assert_same(data, _read_everything(db))


def test_a_run_can_be_asked_to_read_everything(client: httpx.Client, db: Database) -> None:
    world = generate(SCENARIOS["baseline"], seed=48, scale=0.1)
    _send_all(client, {kind: list(getattr(world, kind)) for kind in KINDS})
    wait_for_run(client, client.post("/v1/analysis/runs").json()["run_id"])
    asked = client.post("/v1/analysis/runs", params={"full": "true"}).json()
    assert asked["stats"] == {"full_read": True}
    run = wait_for_run(client, asked["run_id"])
    assert run["status"] == "succeeded"
    assert run["stats"]["full_read"] is True
    assert run["stats"]["load"]["mode"] == "full"
    assert run["stats"]["load"]["reason"] == "asked for"
    assert run["stats"]["load"]["rows_read"]["reports"] == len(world.reports)
    then = wait_for_run(client, client.post("/v1/analysis/runs").json()["run_id"])
    assert "full_read" not in then["stats"]
    assert then["stats"]["load"]["mode"] == "changes"
