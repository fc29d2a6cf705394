"""The connection the key check holds open: it sees every commit at once, survives the
database dropping it, and closes with the engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from app.db.engine import Database
from app.db.migrations import upgrade_to_head
from app.services.keys import create_key
from tests.conftest import POSTGRES_URL, fresh_postgres_database

COUNT = "SELECT count(key_id) FROM api_keys"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'held.db'}"
        upgrade_to_head(url)
        database = Database(url)
        yield database
        database.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("MRD_TEST_POSTGRES_URL is not set")
    with fresh_postgres_database("mrd_held_check") as url:
        upgrade_to_head(url)
        database = Database(url)
        yield database
        database.dispose()


def test_each_read_sees_the_latest_commit(db: Database) -> None:
    assert db.held.scalar(COUNT) == 0
    for expected in (1, 2):
        with db.session() as session:
            create_key(session, f"key {expected}", ["read"])
            session.commit()
        assert db.held.scalar(COUNT) == expected


def test_a_dropped_connection_is_replaced_at_once(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("only a server drops connections")
    backend = db.held.scalar("SELECT pg_backend_pid()")
    with db.engine.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    assert db.held.scalar(COUNT) == 0
    assert db.held.scalar("SELECT pg_backend_pid()") != backend


def test_disposing_the_engine_closes_it(db: Database) -> None:
    db.held.scalar(COUNT)
    held = db.held._conn
    assert held is not None
    raw = held.connection.dbapi_connection
    assert raw is not None
    db.engine.dispose()
    with pytest.raises(db.engine.dialect.loaded_dbapi.Error):
        raw.cursor().execute("SELECT 1")
    assert db.held.scalar(COUNT) == 0
