"""Two service processes with two workers each on one PostgreSQL database: ingest
from all of them at once, analysis runs requested from both, and exactly one runner
analyses at a time, with no duplicate waves or groups."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from itertools import pairwise
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.db.engine import Database
from app.db.models import AnalysisGroup, AnalysisRun, AnalysisWave, Report
from app.simulate import SCENARIOS, generate
from tests.conftest import (
    POSTGRES_URL,
    SERVICE_KEY,
    free_port,
    fresh_postgres_database,
    running_service,
    send,
)

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs MRD_TEST_POSTGRES_URL")


def test_two_services_share_one_database_and_one_runner() -> None:
    world = generate(SCENARIOS["baseline"], seed=733, scale=0.3)
    with fresh_postgres_database("mrd_concurrency_check") as url:
        ports = [free_port(), free_port()]
        settings = {"MRD_ANALYSIS_INTERVAL_S": "2"}
        with (
            running_service(url, ports[0], "--workers", "2", settings=settings),
            running_service(url, ports[1], "--workers", "2", settings=settings),
        ):
            clients = [
                httpx.Client(
                    base_url=f"http://127.0.0.1:{port}",
                    headers={"X-API-Key": SERVICE_KEY},
                    timeout=60,
                )
                for port in ports
            ]
            for kind in ("accounts", "edges", "posts", "decisions"):
                send(clients[0], kind, getattr(world, kind))
            slices = [world.reports[i::4] for i in range(4)]
            errors: list[str] = []

            def ingest(client: httpx.Client, reports: list[dict[str, Any]]) -> None:
                try:
                    for start in range(0, len(reports), 1000):
                        send(client, "reports", reports[start : start + 1000])
                except Exception as exc:  # reported below, with the others
                    errors.append(repr(exc))

            threads = [
                threading.Thread(target=ingest, args=(clients[i % 2], part))
                for i, part in enumerate(slices)
            ]
            for thread in threads:
                thread.start()
            requested = []
            for i in range(6):
                answer = clients[i % 2].post("/v1/analysis/runs")
                assert answer.status_code == 202, answer.text
                requested.append(answer.json()["run_id"])
                time.sleep(0.3)
            for thread in threads:
                thread.join(timeout=300)
            assert errors == []
            # The last request after all data arrived, from the other service.
            requested.append(clients[1].post("/v1/analysis/runs").json()["run_id"])

            db = Database(url)
            deadline = time.monotonic() + 300
            while True:
                with db.sessions() as session:
                    busy = session.scalar(
                        select(func.count()).where(AnalysisRun.status.in_(("queued", "running")))
                    )
                if not busy:
                    break
                assert time.monotonic() < deadline, "runs did not finish"
                time.sleep(0.5)
            for client in clients:
                client.close()

            with db.sessions() as session:
                runs = session.scalars(select(AnalysisRun).order_by(AnalysisRun.started_at)).all()
                assert session.scalar(select(func.count()).select_from(Report)) == len(
                    world.reports
                )
                spans: list[tuple[datetime, datetime]] = []
                for run in runs:
                    assert run.status == "succeeded", (run.run_id, run.error)
                    assert run.started_at is not None and run.finished_at is not None
                    spans.append((run.started_at, run.finished_at))
                assert {r.run_id for r in runs} >= set(requested)
                # Exactly one runner at a time: no two runs overlap.
                for (_, finished), (started, _) in pairwise(spans):
                    assert finished <= started
                last = runs[-1]
                assert last.stats["reports"] == len(world.reports)
                waves = session.execute(
                    select(AnalysisWave.wave_id, AnalysisWave.target_id, AnalysisWave.start).where(
                        AnalysisWave.run_id == last.run_id
                    )
                ).all()
                groups = session.scalars(
                    select(AnalysisGroup.group_id).where(AnalysisGroup.run_id == last.run_id)
                ).all()
            db.dispose()
            assert len(waves) == last.stats["waves"] > 0
            assert len({(w.target_id, w.start) for w in waves}) == len(waves)
            assert len(set(groups)) == len(groups) == last.stats["groups"]
