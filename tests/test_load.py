"""``mrd simulate`` then ``mrd load`` against the running service, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
from sqlalchemy import func, select

from app.datasets import count_lines
from app.db.engine import Database
from app.db.models import Account, Decision, Post, Report
from tests.conftest import ADMIN_KEY, LiveServer


def mrd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ | {"MRD_API_KEY": ADMIN_KEY},
    )


def stored(db: Database, model: type) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_simulate_then_load(service: LiveServer, db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "d"
    simulated = mrd("simulate", "--scenario", "baseline", "--seed", "1", "--out", str(folder))
    assert simulated.returncode == 0, simulated.stderr
    assert "truth.json" in simulated.stdout

    loaded = mrd("load", str(folder), "--url", service.url)
    assert loaded.returncode == 0, loaded.stderr
    assert stored(db, Report) == count_lines(folder, "reports")
    assert stored(db, Account) == count_lines(folder, "accounts")
    assert stored(db, Post) == count_lines(folder, "posts")
    assert stored(db, Decision) == count_lines(folder, "decisions")

    again = mrd("load", str(folder), "--url", service.url)
    assert again.returncode == 0, again.stderr
    assert stored(db, Report) == count_lines(folder, "reports")
    assert "duplicates" in again.stdout


def test_load_reports_rejections_and_refusals(
    service: LiveServer, db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    good = {
        "event_id": "e1",
        "reporter_id": "a",
        "target_id": "b",
        "reason": "spam",
        "created_at": 1501322400,
    }
    bad = good | {"event_id": "e2", "created_at": "2017-07-29T10:00:00"}
    (folder / "reports.ndjson").write_bytes(orjson.dumps(good) + b"\n" + orjson.dumps(bad) + b"\n")
    partly = mrd("load", str(folder), "--url", service.url)
    assert partly.returncode == 3
    assert "timezone" in partly.stderr
    assert stored(db, Report) == 1

    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "load",
            str(folder),
            "--url",
            service.url,
            "--api-key",
            "wrong",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert "401" in refused.stderr
