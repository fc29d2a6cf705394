"""A database outage answers 503 problem+json with Retry-After, never 500: nothing was
stored, and the client is told to retry (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from app.api.problems import database_unavailable
from app.config import Settings
from app.db.engine import normalise_url
from app.db.migrations import upgrade_to_head
from app.main import create_app
from tests.conftest import POSTGRES_URL, LiveServer, fresh_postgres_database
from tests.test_auth import REPORT

KEY = "outage-admin-key-0123456789"


@contextmanager
def service_on(url: str) -> Iterator[tuple[httpx.Client, LiveServer]]:
    upgrade_to_head(url)
    app = create_app(Settings(database_url=url, bootstrap_api_key=KEY, background_worker=False))
    with (
        LiveServer(app) as server,
        httpx.Client(base_url=server.url, headers={"X-API-Key": KEY}, timeout=60) as client,
    ):
        yield client, server
    app.state.context.db.dispose()


def assert_unavailable(client: httpx.Client) -> None:
    for answer in (
        client.post("/v1/reports", json={"reports": [REPORT]}),
        client.get("/v1/waves"),
        client.post("/v1/enforcement/check", json={"target_id": "t"}),
    ):
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "urn:mrd:problem:unavailable"
        assert int(answer.headers["Retry-After"]) > 0
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


def check_outage(url: str, take_down: Callable[[LiveServer], None]) -> None:
    with service_on(url) as (client, server):
        assert client.post("/v1/reports", json={"reports": [REPORT]}).status_code == 200
        take_down(server)
        assert_unavailable(client)


def test_sqlite_file_gone(tmp_path: Path) -> None:
    database = tmp_path / "gone.db"

    def take_down(server: LiveServer) -> None:
        server.app.state.context.db.engine.dispose()
        database.rename(tmp_path / "moved.db")
        database.mkdir()  # the path is now a directory: no connection opens

    check_outage(f"sqlite:///{database}", take_down)


@pytest.mark.skipif(POSTGRES_URL is None, reason="MRD_TEST_POSTGRES_URL is not set")
def test_postgres_database_dropped() -> None:
    assert POSTGRES_URL is not None
    with fresh_postgres_database("mrd_outage_test") as url:
        name = url.rsplit("/", 1)[1]

        def take_down(_server: LiveServer) -> None:
            admin = create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
            admin.dispose()

        check_outage(url, take_down)


def test_only_an_unreachable_database_is_a_503() -> None:
    """A mistake in a statement stays a 500 (a bug to fix), not a 503 to retry."""

    def sqlite_error(message: str) -> OperationalError:
        return OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))

    assert database_unavailable(sqlite_error("database is locked"))
    assert database_unavailable(sqlite_error("unable to open database file"))
    assert not database_unavailable(sqlite_error("no such table: reports"))
    assert not database_unavailable(sqlite_error('near "SELEC": syntax error'))
    refused = psycopg.OperationalError("connection refused")
    assert database_unavailable(OperationalError("SELECT 1", {}, refused))
