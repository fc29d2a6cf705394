"""Alembic migrations are the only source of the schema, and they match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from alembic import command
from app.db.engine import make_engine
from app.db.migrations import (
    alembic_config,
    current_revision,
    head_revision,
    schema_filter,
    upgrade_to_head,
)
from app.db.models import Base, tables_on
from tests.conftest import POSTGRES_URL, fresh_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("MRD_TEST_POSTGRES_URL is not set")
    with fresh_postgres_database("mrd_migration_check") as url:
        yield url


def test_models_and_migrations_agree(fresh_url: str) -> None:
    upgrade_to_head(fresh_url)
    engine = make_engine(fresh_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "include_object": schema_filter(conn.dialect.name)},
        )
        assert compare_metadata(context, Base.metadata) == []
    assert current_revision(engine) == head_revision(fresh_url)
    engine.dispose()


def test_downgrade_and_upgrade_again(fresh_url: str) -> None:
    upgrade_to_head(fresh_url)
    command.downgrade(alembic_config(fresh_url), "base")
    engine = make_engine(fresh_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade_to_head(fresh_url)
    expected = {t.name for t in tables_on(engine.dialect.name)}
    assert expected <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_sqlite_edges_are_kept_in_key_order_with_their_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'edges.db'}"
    command.upgrade(alembic_config(url), "0011")
    rows = [
        (f"a{i % 7}", f"b{i}", kind, i + 1, None if i % 3 else 1_500_000_000_000_000 + i, 1)
        for i in range(50)
        for kind in ("follow", "retweet")
    ]
    engine = make_engine(url)

    def stored() -> list[tuple[object, ...]]:
        with engine.connect() as conn:
            return sorted(conn.exec_driver_sql("SELECT * FROM edges").all())

    def table_sql() -> str:
        with engine.connect() as conn:
            return str(
                conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'edges'").scalar()
            )

    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO edges (src, dst, kind, weight, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        # What a copy that failed half-way leaves (SQLite commits a new table at once).
        conn.exec_driver_sql("CREATE TABLE edges_rebuilt (src VARCHAR(128))")
    upgrade_to_head(url)
    assert stored() == sorted(rows)
    assert table_sql().endswith("WITHOUT ROWID")
    assert "ix_edges_dst_kind" in {i["name"] for i in inspect(engine).get_indexes("edges")}
    command.downgrade(alembic_config(url), "0011")
    assert stored() == sorted(rows)
    assert not table_sql().endswith("WITHOUT ROWID")
    engine.dispose()
