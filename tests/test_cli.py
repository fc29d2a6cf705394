"""The ``mrd`` command: migrate and key creation, run as a user would."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from app.db.engine import Database
from app.db.migrations import current_revision, head_revision
from app.logs import configure_logging
from app.services.keys import authenticate


def mrd(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"MRD_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_migrate_then_create_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrated = mrd("migrate", database_url=url)
    assert migrated.returncode == 0, migrated.stderr
    db = Database(url)
    assert current_revision(db.engine) == head_revision(url)

    created = mrd(
        "keys",
        "create",
        "--name",
        "pipeline",
        "--scope",
        "ingest",
        "--scope",
        "read",
        database_url=url,
    )
    assert created.returncode == 0, created.stderr
    secret = created.stdout.split("key:")[-1].strip()
    with db.sessions() as session:
        principal = authenticate(session, secret)
    db.dispose()
    assert principal is not None
    assert principal.scopes == {"ingest", "read"}


def test_unknown_scope_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    mrd("migrate", database_url=url)
    result = mrd("keys", "create", "--name", "x", "--scope", "root", database_url=url)
    assert result.returncode != 0
    assert "unknown scope" in result.stdout + result.stderr


def test_help_lists_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for command in ("serve", "migrate", "keys"):
        assert command in result.stdout


def test_json_logs(capsys) -> None:  # type: ignore[no-untyped-def]
    configure_logging("INFO", as_json=True)
    logging.getLogger("mrd.test").warning("هجوم %s", "بلاغات")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    entry = json.loads(line)
    assert entry["level"] == "warning"
    assert entry["message"] == "هجوم بلاغات"
    assert entry["time"].endswith("Z")
    configure_logging("INFO", as_json=False)
