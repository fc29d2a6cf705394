"""Run and inspect Alembic migrations from code (``mrd migrate``, ``mrd serve``, ``/readyz``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy import inspect as sa_inspect

from alembic import command
from app.db.engine import normalise_url
from app.db.models import exists_on
from app.db.partitions import parent_of

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "alembic"
VERSION_TABLE = "alembic_version"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return config


def upgrade_to_head(database_url: str) -> None:
    """Create or update the schema; the only way the service creates tables."""
    command.upgrade(alembic_config(database_url), "head")


def head_revision(database_url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The schema's revision, read from Alembic's version table without starting a
    migration context, which logs two lines per call (``/readyz`` asks often)."""
    with engine.connect() as conn:
        if not sa_inspect(conn).has_table(VERSION_TABLE):
            return None
        return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def schema_filter(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Which schema objects autogenerate compares on ``dialect`` (its ``include_object``):
    the models' objects the migrations create there, and no monthly partition, which
    the service creates at run time."""

    def include(item: Any, name: str | None, kind: str, reflected: bool, _other: Any) -> bool:
        if reflected:
            return not (kind == "table" and name is not None and parent_of(name) != name)
        return exists_on(item, dialect)

    return include
