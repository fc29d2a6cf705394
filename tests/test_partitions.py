"""PostgreSQL's monthly partitions of reports and posts: the migration that makes them,
months created on demand and ahead, ids unique across months, retention by dropping
whole months, and data that was there before the migration."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from alembic import command
from app.db.engine import Database, make_engine
from app.db.migrations import alembic_config, schema_filter, upgrade_to_head
from app.db.models import Base
from app.db.partitions import MONTHS_AHEAD, PARTITIONED, Partitions, month_of, next_month
from app.entities import POSTS, REPORTS
from app.services.ingest import ingest_batch
from app.services.retention import RetentionKeeper, apply_retention
from tests.conftest import ADMIN_KEY, POSTGRES_URL, fresh_postgres_database, send, served_app

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs MRD_TEST_POSTGRES_URL")


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_postgres_database("partitions") as fresh:
        yield fresh


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    upgrade_to_head(url)
    database = Database(url)
    yield database
    database.dispose()


def _attached(conn: Connection, parent: str) -> set[str]:
    """The partitions of a partitioned table, or the children of a partitioned index."""
    return set(
        conn.scalars(
            text(
                "SELECT inhrelid::regclass::text FROM pg_inherits"
                " WHERE inhparent = CAST(:parent AS regclass)"
            ),
            {"parent": parent},
        )
    )


def _homes(conn: Connection, table: str, key: str) -> dict[str, list[str]]:
    """Each stored id and the partitions holding it."""
    homes: dict[str, list[str]] = {}
    for partition, key_value in conn.execute(
        text(f"SELECT tableoid::regclass::text, {key} FROM {table}")
    ):
        homes.setdefault(key_value, []).append(partition)
    return homes


def _report(event_id: str, created_at: str, **extra: object) -> dict[str, object]:
    return {
        "event_id": event_id,
        "reporter_id": "r1",
        "target_id": "t1",
        "reason": "spam",
        "created_at": created_at,
    } | extra


def test_the_migration_partitions_reports_and_posts(db: Database) -> None:
    assert db.partitions is not None
    db.partitions.keep_ahead(datetime.now(UTC))
    with db.engine.connect() as conn:
        partitioned = conn.execute(
            text(
                "SELECT c.relname, p.partstrat, a.attname FROM pg_partitioned_table p"
                " JOIN pg_class c ON c.oid = p.partrelid"
                " JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]"
            )
        ).all()
        assert sorted(partitioned) == [("posts", "r", "created_at"), ("reports", "r", "created_at")]
        keys = dict(
            conn.execute(
                text(
                    "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
                    " WHERE contype IN ('p', 'u') AND conrelid::regclass::text IN"
                    " ('reports', 'posts', 'report_keys', 'post_keys')"
                )
            ).all()
        )
        assert keys == {
            "reports": "PRIMARY KEY (seq, created_at)",
            "posts": "PRIMARY KEY (post_id, created_at)",
            "report_keys": "PRIMARY KEY (event_id)",
            "post_keys": "PRIMARY KEY (post_id)",
        }
        # Every index is a partitioned index, with a child on each partition.
        indices = {
            "reports": ["pk_reports", "ix_reports_target_created", "ix_reports_reporter_created"],
            "posts": ["pk_posts", "ix_posts_author_created", "ix_posts_reshare_of"],
        }
        for table, names in indices.items():
            partitions = len(_attached(conn, table))
            assert partitions == MONTHS_AHEAD + 1
            for name in names:
                assert len(_attached(conn, name)) == partitions, name
        # Partitions exist at run time only; everything else is what the models say.
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": schema_filter("postgresql")}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_ingest_creates_the_months_it_needs(url: str) -> None:
    reports = [
        _report("e-1999", "1999-12-31T23:30:00-01:00"),  # 2000-01 in UTC
        _report("e-2009", "2009-03-02T00:00:00Z"),
        _report("e-2017a", "2017-07-29T10:00:00Z"),
        _report("e-2017b", 1501322400),
    ]
    posts = [
        {"post_id": "p-2012", "author_id": "a1", "created_at": "2012-05-05T05:05:05Z"},
        {"post_id": "p-2017", "author_id": "a1", "created_at": "2017-07-01T00:00:00Z"},
    ]
    with served_app(url, ADMIN_KEY) as client:
        answer = client.post("/v1/reports", json={"reports": reports}).json()
        assert answer == {"accepted": 4, "duplicates": 0, "rejected": []}
        send(client, "posts", posts)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert {"reports_p2000_01", "reports_p2009_03", "reports_p2017_07"} <= _attached(
            conn, "reports"
        )
        assert {"posts_p2012_05", "posts_p2017_07"} <= _attached(conn, "posts")
        assert _homes(conn, "reports", "event_id") == {
            "e-1999": ["reports_p2000_01"],
            "e-2009": ["reports_p2009_03"],
            "e-2017a": ["reports_p2017_07"],
            "e-2017b": ["reports_p2017_07"],
        }
        assert _homes(conn, "posts", "post_id") == {
            "p-2012": ["posts_p2012_05"],
            "p-2017": ["posts_p2017_07"],
        }
        assert set(conn.scalars(text("SELECT event_id FROM report_keys"))) == {
            r["event_id"] for r in reports
        }
    engine.dispose()


def test_an_event_id_is_stored_once_in_any_month(url: str) -> None:
    """Re-sent in another month's partition, an event id is still known: the same report
    would be a duplicate; these differ (time, text), so they are conflicts."""
    with served_app(url, ADMIN_KEY) as client:
        first = [_report("e1", "2017-01-15T10:00:00Z", text="first")]
        assert client.post("/v1/reports", json={"reports": first}).json()["accepted"] == 1
        again = [
            _report("e1", "2017-05-15T10:00:00Z", text="retry"),
            _report("e2", "2017-05-15T10:00:00Z"),
            _report("e2", "2017-03-15T10:00:00Z"),
        ]
        answer = client.post("/v1/reports", json={"reports": again}).json()
        assert answer["accepted"] == 1 and answer["duplicates"] == 0
        assert [r["index"] for r in answer["rejected"]] == [0, 2]
        assert {r["errors"][0]["loc"][0] for r in answer["rejected"]} == {"event_id"}
    engine = make_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT event_id, created_at, text FROM reports ORDER BY seq")
        ).all()
        assert stored == [
            ("e1", datetime(2017, 1, 15, 10, tzinfo=UTC), "first"),
            ("e2", datetime(2017, 5, 15, 10, tzinfo=UTC), None),
        ]
        assert sorted(conn.scalars(text("SELECT event_id FROM report_keys"))) == ["e1", "e2"]
    engine.dispose()


def test_a_post_whose_time_changes_moves_and_stays_one_post(url: str) -> None:
    post = {
        "post_id": "p1",
        "author_id": "inst-1",
        "created_at": "2017-01-20T09:00:00Z",
        "text": "report @analyst",
        "mentions": ["analyst"],
        "hashtags": ["campaign"],
    }
    moved = {"post_id": "p1", "author_id": "inst-1", "created_at": "2017-06-02T09:00:00Z"}
    engine = make_engine(url)

    def stored() -> list[tuple[Any, ...]]:
        with engine.connect() as conn:
            return [
                *conn.execute(
                    text(
                        "SELECT tableoid::regclass::text, post_id, created_at, author_id, text"
                        " FROM posts"
                    )
                ),
                *conn.execute(text("SELECT 'key', post_id, created_at FROM post_keys")),
                *conn.execute(text("SELECT 'mention', post_id, account_id FROM post_mentions")),
            ]

    with served_app(url, ADMIN_KEY) as client:
        assert client.post("/v1/posts", json={"posts": [post]}).json()["accepted"] == 1
        # The later version leaves the text out: the stored text stays, in the new month.
        assert client.post("/v1/posts", json={"posts": [moved]}).json() == {
            "accepted": 1,
            "duplicates": 0,
            "rejected": [],
        }
        june = datetime(2017, 6, 2, 9, tzinfo=UTC)
        assert stored() == [
            ("posts_p2017_06", "p1", june, "inst-1", "report @analyst"),
            ("key", "p1", june),
            ("mention", "p1", "analyst"),
        ]
        assert client.post("/v1/posts", json={"posts": [moved]}).json()["accepted"] == 0
        # Two versions in one batch, the later winning, and a new author: back to January.
        back = [moved, moved | {"author_id": "inst-2", "created_at": post["created_at"]}]
        assert client.post("/v1/posts", json={"posts": back}).json() == {
            "accepted": 1,
            "duplicates": 1,
            "rejected": [],
        }
        january = datetime(2017, 1, 20, 9, tzinfo=UTC)
        assert stored() == [
            ("posts_p2017_01", "p1", january, "inst-2", "report @analyst"),
            ("key", "p1", january),
            ("mention", "p1", "analyst"),
        ]
    engine.dispose()


def test_the_keeper_makes_this_month_and_the_next_ones(db: Database) -> None:
    partitions = db.partitions
    assert partitions is not None
    months = [month_of(datetime.now(UTC))]
    for _ in range(MONTHS_AHEAD):
        months.append(next_month(months[-1]))
    keeper = RetentionKeeper(db, None)  # no retention: the months are kept ahead anyway
    keeper.start()
    try:
        deadline = time.monotonic() + 20
        while True:
            with db.engine.connect() as conn:
                if all(_attached(conn, table) for table in PARTITIONED):
                    break
            assert time.monotonic() < deadline, "the keeper made no partitions"
            time.sleep(0.05)
    finally:
        keeper.stop()
    partitions.keep_ahead(datetime(2030, 11, 30, 23, 59, tzinfo=UTC))  # across a year's end
    with db.engine.connect() as conn:
        for table in PARTITIONED:
            expected = {f"{table}_p{m:%Y_%m}" for m in months} | {
                f"{table}_p{m}" for m in ("2030_11", "2030_12", "2031_01", "2031_02")
            }
            assert _attached(conn, table) == expected


def test_writers_creating_one_month_at_once_make_it_once(db: Database) -> None:
    month = date(2011, 4, 1)
    writers = [Partitions(db.engine) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda p: p.ensure("reports", [month, next_month(month)]), writers))
    with db.engine.connect() as conn:
        assert _attached(conn, "reports") == {"reports_p2011_04", "reports_p2011_05"}


NOW = datetime(2016, 6, 15, 12, tzinfo=UTC)  # retention runs as if it were then
# With 30 days, the limit is 2016-05-16 12:00: February and March go whole, May in part.


def _at(day: str) -> str:
    return f"2016-{day}T10:00:00Z"


def test_retention_drops_old_months_and_trims_the_one_it_cuts(url: str) -> None:
    days = {"02-03": 3, "03-09": 4, "05-10": 2, "05-20": 3, "06-10": 2}
    reports = [
        _report(f"e-{day}-{i}", _at(day)) for day, count in days.items() for i in range(count)
    ]
    posts = [
        {
            "post_id": f"p-{day}",
            "author_id": "a1",
            "created_at": _at(day),
            "mentions": ["t1"],
            "hashtags": ["x"],
        }
        for day in days
    ] + [{"post_id": "p-moved", "author_id": "a1", "created_at": _at("03-01"), "mentions": ["t1"]}]
    decisions = [
        {
            "decision_id": f"d-{day}",
            "target_id": "t1",
            "outcome": "violation",
            "decided_at": _at(day),
        }
        for day in days
    ]
    with served_app(url, ADMIN_KEY) as client:
        send(client, "reports", reports)
        send(client, "posts", posts)
        send(client, "decisions", decisions)
        # A post of a month about to be dropped whose later version is recent.
        send(
            client, "posts", [{"post_id": "p-moved", "author_id": "a1", "created_at": _at("06-01")}]
        )
        db = Database(url)
        assert apply_retention(db, days=30, now=NOW) == {"reports": 9, "posts": 3, "decisions": 3}
        with db.engine.connect() as conn:
            assert {"reports_p2016_05", "reports_p2016_06"} <= _attached(conn, "reports")
            assert not {"reports_p2016_02", "reports_p2016_03"} & _attached(conn, "reports")
            assert not {"posts_p2016_02", "posts_p2016_03"} & _attached(conn, "posts")
            kept = {r["event_id"] for r in reports if r["created_at"] >= _at("05-16")}
            assert set(conn.scalars(text("SELECT event_id FROM reports"))) == kept
            assert set(conn.scalars(text("SELECT event_id FROM report_keys"))) == kept
            kept_posts = {"p-05-20", "p-06-10", "p-moved"}
            assert set(conn.scalars(text("SELECT post_id FROM posts"))) == kept_posts
            assert set(conn.scalars(text("SELECT post_id FROM post_keys"))) == kept_posts
            assert set(conn.scalars(text("SELECT post_id FROM post_mentions"))) == kept_posts
            assert set(conn.scalars(text("SELECT post_id FROM post_hashtags"))) == {
                "p-05-20",
                "p-06-10",
            }
        assert apply_retention(db, days=30, now=NOW) == {"reports": 0, "posts": 0, "decisions": 0}
        # The service still believes in the dropped month: the write finds out, the
        # month is made again, and a report of it is stored (until the next pass).
        answer = client.post("/v1/reports", json={"reports": [reports[0]]}).json()
        assert answer == {"accepted": 1, "duplicates": 0, "rejected": []}
        with db.engine.connect() as conn:
            assert "reports_p2016_02" in _attached(conn, "reports")
        db.dispose()


def test_a_detach_cut_short_is_finished_by_the_next_pass(url: str) -> None:
    """A retention pass stopped during ``DETACH ... CONCURRENTLY`` (killed, or cancelled
    as here while an open read holds the table) leaves the month pending detach: the
    next pass finishes the detach and drops it, and its reports' keys go with it."""
    old = [_report(f"old-{i}", _at("02-03")) for i in range(3)]
    with served_app(url, ADMIN_KEY) as client:
        send(client, "reports", [*old, _report("recent", _at("06-10"))])
    engine = make_engine(url)
    with (
        engine.connect() as reader,
        engine.execution_options(isolation_level="AUTOCOMMIT").connect() as detacher,
        engine.connect() as watcher,
        ThreadPoolExecutor(1) as pool,
    ):
        reader.execute(text("SELECT count(*) FROM reports"))  # its transaction stays open
        pid = detacher.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        detach = pool.submit(
            detacher.exec_driver_sql,
            "ALTER TABLE reports DETACH PARTITION reports_p2016_02 CONCURRENTLY",
        )
        waiting = text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid")
        deadline = time.monotonic() + 30
        while not watcher.scalar(waiting, {"pid": pid}):  # the detach waits for the reader
            watcher.rollback()
            assert time.monotonic() < deadline, "the detach never waited for the reader"
            time.sleep(0.05)
        watcher.scalar(text("SELECT pg_cancel_backend(:pid)"), {"pid": pid})
        with pytest.raises(OperationalError):
            detach.result(timeout=30)
        reader.rollback()
        pending = watcher.scalar(
            text(
                "SELECT inhdetachpending FROM pg_inherits"
                " WHERE inhrelid = CAST('reports_p2016_02' AS regclass)"
            )
        )
        assert pending is True
    engine.dispose()

    db = Database(url)
    assert apply_retention(db, days=30, now=NOW) == {"reports": 3, "posts": 0, "decisions": 0}
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT to_regclass('reports_p2016_02')")) is None
        assert set(conn.scalars(text("SELECT event_id FROM report_keys"))) == {"recent"}
        assert set(conn.scalars(text("SELECT event_id FROM reports"))) == {"recent"}
    db.dispose()


def _rows(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2")).all()
        for table in ("reports", "posts", "post_mentions", "post_hashtags")
    }


def test_migrating_stored_data_keeps_every_row(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, "0005")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO reports (event_id, reporter_id, target_id, reason, created_at,"
                " content_id, text, ingested_at) VALUES"
                " ('e1', 'r1', 't1', 'spam', '2017-07-29 10:00Z', 'c1', 'نص', now()),"
                " ('e2', 'r2', 't1', 'hate', '2017-01-31 23:30-02:00', NULL, NULL, now()),"
                " ('e3', 'r1', 't2', 'spam', '2009-03-02 00:00Z', NULL, 'x', now())"
            )
        )
        conn.execute(
            text(
                "INSERT INTO posts (post_id, author_id, created_at, text, reshare_of, reply_to,"
                " updated_at) VALUES ('p1', 'a1', '2017-07-01 00:00Z', 'hi', NULL, NULL, now()),"
                " ('p2', 'a2', '2016-12-31 23:59:59Z', NULL, 'p1', 'p1', now())"
            )
        )
        conn.execute(text("INSERT INTO post_mentions VALUES ('p1', 't1'), ('p2', 't2')"))
        conn.execute(text("INSERT INTO post_hashtags VALUES ('p1', 'x')"))
        before = _rows(conn)
    command.upgrade(config, "head")
    with engine.connect() as conn:
        assert _rows(conn) == before
        assert _attached(conn, "reports") == {
            "reports_p2017_07",
            "reports_p2017_02",
            "reports_p2009_03",
        }
        assert _attached(conn, "posts") == {"posts_p2017_07", "posts_p2016_12"}
        assert sorted(conn.scalars(text("SELECT event_id FROM report_keys"))) == ["e1", "e2", "e3"]
        assert sorted(conn.execute(text("SELECT post_id, created_at FROM post_keys"))) == [
            (p[0], p[2]) for p in before["posts"]
        ]
    # The sequence goes on where it was.
    with served_app(url, ADMIN_KEY) as client:
        # e1 as stored before the migration: known, so a duplicate.
        resent = _report("e1", "2017-07-29T10:00:00Z", content_id="c1", text="نص")
        send(client, "reports", [_report("e4", "2017-07-30T00:00:00Z"), resent])
    with engine.connect() as conn:
        after = _rows(conn)
        assert after["reports"][:3] == before["reports"]
        assert [r[1] for r in after["reports"][3:]] == ["e4"]
        assert after["reports"][3][0] > before["reports"][-1][0]
    command.downgrade(config, "0005")
    with engine.connect() as conn:
        assert _rows(conn) == after
        assert conn.scalar(text("SELECT count(*) FROM pg_partitioned_table")) == 0
        assert conn.scalar(text("SELECT to_regclass('report_keys')")) is None
        assert (
            conn.scalar(
                text(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                    " WHERE conname = 'uq_reports_event_id'"
                )
            )
            == "UNIQUE (event_id)"
        )
    engine.dispose()


def test_concurrent_writers_keep_one_row_per_id(db: Database) -> None:
    """Replicas sending overlapping reports and posts at once, posts moving between
    months all the while: one row per id, in the month its key names."""

    def write(seed: int) -> int:
        writer = Database(db.url)  # a replica: its own pool and its own partition cache
        rnd = random.Random(seed)
        accepted = 0

        def month() -> str:
            return f"2015-{rnd.randint(1, 12):02d}-10T00:00:00Z"

        try:
            for _ in range(15):
                reports = [_report(f"e{i}", month()) for i in rnd.sample(range(200), 60)]
                accepted += ingest_batch(writer, REPORTS, reports, 0).accepted
                posts = [
                    {"post_id": f"p{i}", "author_id": f"a{rnd.randrange(3)}", "created_at": month()}
                    | ({"mentions": ["t1"]} if rnd.random() < 0.5 else {})
                    for i in rnd.sample(range(60), 20)
                ]
                ingest_batch(writer, POSTS, posts, 0)
        finally:
            writer.dispose()
        return accepted

    with ThreadPoolExecutor(4) as pool:
        accepted = sum(pool.map(write, range(4)))
    with db.engine.connect() as conn:
        event_ids = conn.scalars(text("SELECT event_id FROM reports")).all()
        assert len(event_ids) == len(set(event_ids)) == accepted
        assert set(conn.scalars(text("SELECT event_id FROM report_keys"))) == set(event_ids)
        posts = conn.execute(text("SELECT post_id, created_at FROM posts")).all()
        assert len(posts) == len({post_id for post_id, _ in posts})
        assert set(conn.execute(text("SELECT post_id, created_at FROM post_keys"))) == set(posts)
