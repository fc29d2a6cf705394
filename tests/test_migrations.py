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
