"""The enforcement check's in-memory index answers as the database does, follows the
fast path's updates of a run, and steps aside when it cannot be trusted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import Connection

from app.db import results_repository as results
from app.db.engine import Database
from app.db.results_repository import parse_time
from app.detection.data import to_iso
from app.detection.documents import EnforcementAnswer, Wave
from app.services import enforcement
from app.services.enforcement import CheckIndex, CurrentRun, check
from tests.conftest import LiveServer
from tests.test_results_api import WORLD, analysed  # noqa: F401 (a fixture)


@pytest.fixture(autouse=True)
def lasting_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """Indexes here are refreshed by hand, not by their thread: slow steps of a test
    must not age them into being set aside (which one test does on purpose)."""
    monkeypatch.setattr(enforcement, "INDEX_STALE_S", 3600.0)


def no_database() -> AbstractContextManager[Connection]:
    raise AssertionError("the check read the database")


def refreshed(db: Database) -> CheckIndex:
    index = CheckIndex(db)
    with db.engine.connect() as conn:
        index.refresh(conn)
    return index


def asked(
    db: Database, index: CheckIndex | None, target: str, content: str | None
) -> EnforcementAnswer:
    return check(db.engine.connect, CurrentRun(), index, target, content)


def questions(db: Database, run_id: str) -> Iterator[tuple[str, str | None]]:
    """Every target with a wave, with each content item its waves name, with an item
    no wave names and on the account; accounts without waves; an unknown account."""
    with db.engine.connect() as conn:
        standings = results.standings(conn, run_id)
    for target, (_, waves) in sorted(standings.items()):
        yield target, None
        yield target, "no-such-item"
        for content in sorted({w.content_id for w in waves if w.content_id}):
            yield target, content
    quiet = sorted({a["account_id"] for a in WORLD.accounts} - set(standings))
    yield from ((account, None) for account in quiet[:20])
    yield "never-seen", None


def test_the_index_answers_as_the_database(analysed: httpx.Client, db: Database) -> None:  # noqa: F811
    index = refreshed(db)
    indexed = index.current()
    assert indexed is not None
    run_id = analysed.get("/v1/analysis/runs/latest").json()["run_id"]
    assert indexed.run_id == run_id and indexed.revision == 0
    held = 0
    asked_from_memory = 0
    for target, content in questions(db, run_id):
        from_database = asked(db, None, target, content)
        assert asked(db, index, target, content) == from_database, (target, content)
        held += from_database.action == "hold_for_review"
        if target in indexed.standings:
            # Read from memory: no connection is even asked for.
            assert check(no_database, CurrentRun(), index, target, content) == from_database
            asked_from_memory += 1
    assert held > 0 and asked_from_memory > 50
    # Each wave's brief is its document's fields, read without the document.
    briefs = [brief for _, waves in indexed.standings.values() for brief in waves]
    assert any(b.content_id for b in briefs) and any(b.explanations for b in briefs)
    for brief in briefs[:40]:
        document = analysed.get(f"/v1/waves/{brief.wave_id}").json()
        assert brief._asdict() == {field: document[field] for field in brief._fields}
    # Each account's risk brief is its document's fields.
    with db.engine.connect() as conn:
        documents = results.account_risks(conn, run_id, sorted(indexed.standings))
    for account_id, (risk, _) in indexed.standings.items():
        document = documents.get(account_id)
        assert (risk is None) == (document is None)
        if risk is not None and document is not None:
            assert risk == (document.target_risk, document.core_risk, document.content_risk)
    assert any(risk and risk.content_risk for risk, _ in indexed.standings.values())
    # An index not refreshed for too long steps aside: the database answers.
    target = next(iter(indexed.standings))
    index._indexed = replace(indexed, loaded_at=time.monotonic() - enforcement.INDEX_STALE_S - 1)
    assert index.current() is None
    used: list[bool] = []

    @contextmanager
    def counted() -> Iterator[Connection]:
        used.append(True)
        with db.engine.connect() as conn:
            yield conn

    assert check(counted, CurrentRun(), index, target, None) == asked(db, None, target, None)
    assert used


def test_fast_path_updates_reach_the_index(analysed: httpx.Client, db: Database) -> None:  # noqa: F811
    index = refreshed(db)
    indexed = index.current()
    assert indexed is not None
    run_id = indexed.run_id
    calm = sorted(
        t
        for t, (risk, waves) in indexed.standings.items()
        if risk and waves and risk.target_risk < 0.5
    )
    target, other = calm[0], calm[1]
    assert asked(db, index, target, None).action == "proceed"
    waves = indexed.standings[target][1]
    with db.engine.connect() as conn:
        risk = results.account_risks(conn, run_id, [target])[target]
    raised = risk.model_copy(update={"target_risk": 0.93, "core_risk": 0.93})
    latest = analysed.get(f"/v1/waves/{waves[0].wave_id}").json()
    grown = Wave.model_validate(
        latest
        | {
            "wave_id": "w-fast",
            "end": to_iso(parse_time(latest["end"]).timestamp() + 3600),
            "report_count": waves[0].report_count + 40,
            "provisional": True,
        }
    )
    superseded = [w.wave_id for w in indexed.standings[other][1]]
    with db.engine.begin() as conn:
        results.replace_in_run(conn, run_id, [grown], superseded, [raised])
    with db.engine.connect() as conn:
        assert results.current_run_revision(conn) == (run_id, 1)
        assert results.changed_targets(conn, run_id, 0) == {target, other}
        assert results.changed_targets(conn, run_id, 1) == set()
        index.refresh(conn)
    after = index.current()
    assert after is not None and after.revision == 1
    answer = asked(db, index, target, None)
    assert answer == asked(db, None, target, None)
    assert answer.action == "hold_for_review" and answer.wave_id == "w-fast"
    # The other target lost its waves and keeps its account document.
    assert after.standings[other][1] == []
    assert asked(db, index, other, None) == asked(db, None, other, None)
    # Targets the update did not touch are the very same objects.
    untouched = set(indexed.standings) - {target, other}
    assert untouched and all(after.standings[t] is indexed.standings[t] for t in untouched)
    # Waves that end at the same moment come in the same order from memory and database.
    tied = sorted(t for t in untouched if after.standings[t][1])[0]
    latest = analysed.get(f"/v1/waves/{after.standings[tied][1][0].wave_id}").json()
    ties = [
        Wave.model_validate(latest | {"wave_id": f"w-tie-{n}", "report_count": n + 1})
        for n in (3, 1, 2)
    ]
    with db.engine.begin() as conn:
        results.replace_in_run(conn, run_id, ties, [], [])
        index.refresh(conn)
        from_database = results.latest_waves_of(conn, run_id, tied)
    now = index.current()
    assert now is not None and now.revision == 2
    assert now.standings[tied][1] == from_database
    assert asked(db, index, tied, None) == asked(db, None, tied, None)


def test_the_service_keeps_its_index_current(
    analysed: httpx.Client,  # noqa: F811
    db: Database,
    service: LiveServer,
) -> None:
    run_id = analysed.get("/v1/analysis/runs/latest").json()["run_id"]
    live = service.app.state.context.check_index
    assert live is not None
    deadline = time.monotonic() + 10
    while (indexed := live.current()) is None or indexed.run_id != run_id:
        assert time.monotonic() < deadline, "the service's index did not load the run"
        time.sleep(0.05)
    target = sorted(
        t for t, (risk, _) in indexed.standings.items() if risk and risk.target_risk < 0.5
    )[0]
    body = analysed.post("/v1/enforcement/check", json={"target_id": target}).json()
    assert body == asked(db, None, target, None).model_dump(mode="json")
    assert body["action"] == "proceed"
    # A fast-path update reaches the running service's index within its poll.
    with db.engine.connect() as conn:
        risk = results.account_risks(conn, run_id, [target])[target]
    raised = risk.model_copy(update={"target_risk": 0.9, "core_risk": 0.9})
    with db.engine.begin() as conn:
        results.replace_in_run(conn, run_id, [], [], [raised])
    written = time.monotonic()
    while (now := live.current()) is None or now.revision != 1:
        assert time.monotonic() - written < 5, "the service's index missed the update"
        time.sleep(0.02)
    assert now.standings[target][0] == (0.9, 0.9, raised.content_risk)
    body = analysed.post("/v1/enforcement/check", json={"target_id": target}).json()
    assert body["action"] == "hold_for_review"
    assert body == asked(db, None, target, None).model_dump(mode="json")
    # A new run replaces the index; its analysis of the same data indexes the same
    # accounts, and the fast path's update is gone with the run that had it.
    second = analysed.post("/v1/analysis/runs").json()["run_id"]
    deadline = time.monotonic() + 60
    while (now := live.current()) is None or now.run_id != second:
        assert time.monotonic() < deadline, "the service's index did not load the new run"
        time.sleep(0.05)
    assert now.revision == 0 and set(now.standings) == set(indexed.standings)
    assert now.standings[target] == indexed.standings[target]


def test_an_unreachable_database_is_reported_once(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    broken = Database("sqlite:////nonexistent-directory/mrd.db")
    index = CheckIndex(broken)
    index.work()
    index.work()
    assert index.current() is None
    assert [r.message for r in caplog.records].count(
        "enforcement index: database unreachable (OperationalError)"
    ) == 1
    broken.dispose()
