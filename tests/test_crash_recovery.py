"""SIGKILL the server in the middle of an ingest run: every acknowledged report survives,
exactly once, and re-sending everything afterwards stores nothing twice."""

from __future__ import annotations

import signal
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Connection, func, select, update

from app.db import results_repository as results
from app.db.engine import Database
from app.db.models import AnalysisRun, Lease, Report
from app.detection.data import Data
from app.detection.pipeline import Analysis
from app.services.analysis import LEASE, AnalysisRunner, get_run, queue_run, run_pipeline
from app.services.stored_data import StoredData
from app.tools.demo import prepare_demo
from tests.conftest import BACKENDS, free_port, fresh_postgres_database, running_service
from tests.conftest import SERVICE_KEY as KEY

BATCH = 500


def batch_of(number: int) -> list[dict[str, object]]:
    return [
        {
            "event_id": f"crash-{number}-{i}",
            "reporter_id": f"acct-{(number * BATCH + i) % 977}",
            "target_id": f"target-{i % 13}",
            "reason": "terrorism",
            "created_at": 1_500_000_000 + number * BATCH + i,
            "text": "بلغوا عن هذا الحساب",
        }
        for i in range(BATCH)
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_during_ingest_loses_no_acknowledged_report(backend: str, tmp_path: Path) -> None:
    database = (
        nullcontext(f"sqlite:///{tmp_path / 'crash.db'}")
        if backend == "sqlite"
        else fresh_postgres_database("mrd_crash_check")
    )
    with database as url:
        port = free_port()
        acknowledged: list[str] = []
        sent_batches: list[int] = []
        stop = threading.Event()

        def ingest_forever() -> None:
            number = 0
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": KEY}
            ) as http:
                while not stop.is_set():
                    reports = batch_of(number)
                    sent_batches.append(number)
                    try:
                        response = http.post("/v1/reports", json={"reports": reports}, timeout=10)
                    except httpx.TransportError:
                        return
                    if response.status_code == 200 and response.json()["accepted"] == BATCH:
                        acknowledged.extend(r["event_id"] for r in reports)  # type: ignore[misc]
                    number += 1

        with running_service(url, port) as process:
            client = threading.Thread(target=ingest_forever)
            client.start()
            while len(acknowledged) < 20 * BATCH:
                time.sleep(0.01)
                assert client.is_alive()
            process.send_signal(signal.SIGKILL)
            process.wait()
            stop.set()
            client.join(timeout=30)

        with running_service(url, port):
            db = Database(url)
            with db.sessions() as session:
                stored = session.scalars(select(Report.event_id)).all()
            assert len(stored) == len(set(stored)), "a report was stored twice"
            missing = set(acknowledged) - set(stored)
            assert not missing, f"{len(missing)} acknowledged reports were lost"

            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": KEY}
            ) as http:
                totals = {"accepted": 0, "duplicates": 0}
                for number in sent_batches:
                    answer = http.post(
                        "/v1/reports", json={"reports": batch_of(number)}, timeout=30
                    ).json()
                    totals["accepted"] += answer["accepted"]
                    totals["duplicates"] += answer["duplicates"]
            with db.sessions() as session:
                count = session.scalar(select(func.count()).select_from(Report))
                distinct = session.scalar(select(func.count(Report.event_id.distinct())))
            db.dispose()
            assert count == distinct == len(sent_batches) * BATCH
            assert totals["duplicates"] == len(stored)
            assert totals["duplicates"] >= len(acknowledged)


def scratch_database(backend: str, tmp_path: Path, name: str) -> AbstractContextManager[str]:
    """A database of the test's own: a SQLite file, or a fresh PostgreSQL database."""
    if backend == "sqlite":
        return nullcontext(f"sqlite:///{tmp_path / f'{name}.db'}")
    return fresh_postgres_database(name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_during_an_analysis_run_fails_it_and_runs_again(
    backend: str, tmp_path: Path
) -> None:
    with scratch_database(backend, tmp_path, "mrd_crash_run_check") as url:
        prepare_demo(url, None, scale=1.0)  # data and one succeeded run
        port = free_port()
        settings = {"MRD_ANALYSIS_LEASE_S": "3", "MRD_ANALYSIS_INTERVAL_S": "1"}
        base = f"http://127.0.0.1:{port}"
        with running_service(url, port, settings=settings) as process:
            with httpx.Client(base_url=base, headers={"X-API-Key": KEY}) as http:
                before = http.get("/v1/analysis/runs/latest").json()
                killed = http.post("/v1/analysis/runs").json()["run_id"]
                deadline = time.monotonic() + 30
                while http.get(f"/v1/analysis/runs/{killed}").json()["status"] != "running":
                    assert time.monotonic() < deadline, "the run never started"
                    time.sleep(0.02)
            process.send_signal(signal.SIGKILL)
            process.wait()

        with (
            running_service(url, port, settings=settings),
            httpx.Client(base_url=base, headers={"X-API-Key": KEY}) as http,
        ):
            deadline = time.monotonic() + 60
            while http.get(f"/v1/analysis/runs/{killed}").json()["status"] == "running":
                assert time.monotonic() < deadline, "the killed run stayed running"
                time.sleep(0.2)
            failed = http.get(f"/v1/analysis/runs/{killed}").json()
            assert failed["status"] == "failed" and "stopped" in failed["error"]
            # A new run took its place and succeeded; its results are all there.
            while True:
                latest = http.get("/v1/analysis/runs/latest").json()
                if latest["run_id"] not in (killed, before["run_id"]) and latest["status"] in (
                    "succeeded",
                    "failed",
                ):
                    break
                assert time.monotonic() < deadline, "no run replaced the killed one"
                time.sleep(0.2)
            assert latest["status"] == "succeeded", latest
            listed, cursor = 0, None
            while True:
                page = http.get(
                    "/v1/waves", params={"limit": 1000, **({"cursor": cursor} if cursor else {})}
                ).json()
                listed += len(page["items"])
                if not (cursor := page["next_cursor"]):
                    break
            assert listed == latest["stats"]["waves"] == before["stats"]["waves"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("released", [False, True], ids=["held", "taken-and-released"])
def test_a_run_whose_lease_passed_to_another_process_publishes_nothing(
    backend: str, released: bool, tmp_path: Path
) -> None:
    """The runner's heartbeat stopped long enough for its lease to lapse and another
    process took it, failed the run as stale and (or not yet) released the lease: the
    run fails instead of publishing beside, or after, the new holder's."""
    with scratch_database(backend, tmp_path, "mrd_lease_check") as url:
        prepare_demo(url, None, scale=0.1)  # data and one succeeded run
        db = Database(url)
        with db.engine.connect() as conn:
            published_before = results.current_run_id(conn)

        def analyse_while_the_lease_passes(
            database: Database, stored: StoredData
        ) -> tuple[Data, Analysis]:
            found = run_pipeline(database, stored)

            def another_process(conn: Connection) -> None:
                conn.execute(update(Lease).values(expires_at=datetime.now(UTC)))
                assert results.take_lease(conn, LEASE, "another", timedelta(minutes=5))
                conn.execute(
                    update(AnalysisRun)
                    .where(AnalysisRun.status == "running")
                    .values(status="failed", error="the runner stopped")
                )
                if released:
                    results.release_lease(conn, LEASE, "another")

            database.run_write(another_process)
            return found

        runner = AnalysisRunner(db, interval_s=60.0, pipeline=analyse_while_the_lease_passes)
        run = queue_run(db)
        assert runner.run_pending()
        with db.session() as session:
            stored = get_run(session, run.run_id)
            assert stored is not None and stored.status == "failed"
            assert "lease" in (stored.error or "") or "stale" in (stored.error or "")
        with db.engine.connect() as conn:
            assert results.current_run_id(conn) == published_before
        db.dispose()
