"""Two service processes with two workers each on one PostgreSQL database: ingest
from all of them at once, analysis runs requested from both, and exactly one runner
analyses at a time, with no duplicate waves or groups; and two replicas give the
results one replica gives."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime
from itertools import pairwise
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.db.engine import Database
from app.db.models import (
    AnalysisAccount,
    AnalysisGroup,
    AnalysisNetwork,
    AnalysisRun,
    AnalysisWave,
    Report,
)
from app.tools.simulate import SCENARIOS, generate
from tests.conftest import (
    POSTGRES_URL,
    SERVICE_KEY,
    free_port,
    fresh_postgres_database,
    running_service,
    send,
    wait_for_run,
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


def _latest_results(url: str) -> dict[str, Any]:
    """The newest succeeded run's waves, groups, accounts and network, by id."""
    db = Database(url)
    with db.sessions() as session:
        run_id = session.scalar(
            select(AnalysisRun.run_id)
            .where(AnalysisRun.status == "succeeded")
            .order_by(AnalysisRun.finished_at.desc())
            .limit(1)
        )
        found = {
            "waves": {
                w.wave_id: w.document
                for w in session.scalars(select(AnalysisWave).where(AnalysisWave.run_id == run_id))
            },
            "groups": {
                g.group_id: g.document
                for g in session.scalars(
                    select(AnalysisGroup).where(AnalysisGroup.run_id == run_id)
                )
            },
            "accounts": {
                a.account_id: a.document
                for a in session.scalars(
                    select(AnalysisAccount).where(AnalysisAccount.run_id == run_id)
                )
            },
            "network": session.get(AnalysisNetwork, run_id).document,  # type: ignore[union-attr]
        }
    db.dispose()
    return found


def _serve_and_analyse(url: str, world: Any, replicas: int) -> dict[str, Any]:
    """Ingest ``world`` through ``replicas`` services (reports from four threads at
    once; every entity in a shuffled order when there are several replicas), run one
    analysis, and read it."""
    ports = [free_port() for _ in range(replicas)]
    settings = {"MRD_ANALYSIS_INTERVAL_S": "86400"}
    with ExitStack() as stack:
        for port in ports:
            stack.enter_context(running_service(url, port, settings=settings))
        clients = [
            stack.enter_context(
                httpx.Client(
                    base_url=f"http://127.0.0.1:{port}",
                    headers={"X-API-Key": SERVICE_KEY},
                    timeout=60,
                )
            )
            for port in ports
        ]
        shuffle = random.Random(5).shuffle if replicas > 1 else lambda rows: None
        for kind in ("accounts", "edges", "posts", "decisions"):
            rows = list(getattr(world, kind))
            shuffle(rows)
            send(clients[-1], kind, rows)
        reports = list(world.reports)
        shuffle(reports)
        with ThreadPoolExecutor(4) as pool:
            list(
                pool.map(lambda i: send(clients[i % replicas], "reports", reports[i::4]), range(4))
            )
        run_id = clients[0].post("/v1/analysis/runs").json()["run_id"]
        assert wait_for_run(clients[-1], run_id)["status"] == "succeeded"
    return _latest_results(url)


def test_two_replicas_give_the_results_of_one() -> None:
    """The same data ingested through two replicas at once, in another order, is
    analysed exactly as when one replica took it in order."""
    world = generate(SCENARIOS["baseline"], seed=734, scale=0.2)
    with fresh_postgres_database("mrd_one_replica") as one_url:
        one = _serve_and_analyse(one_url, world, replicas=1)
    with fresh_postgres_database("mrd_two_replicas") as two_url:
        two = _serve_and_analyse(two_url, world, replicas=2)
    assert len(one["waves"]) > 0 and len(one["groups"]) > 0
    for part in ("waves", "groups", "accounts"):
        assert two[part].keys() == one[part].keys(), part
        differing = [
            (key, field, one[part][key][field], two[part][key].get(field))
            for key in one[part]
            for field in one[part][key]
            if one[part][key][field] != two[part][key].get(field)
        ]
        assert differing == [], (part, differing[:5])
    assert two["network"] == one["network"]
