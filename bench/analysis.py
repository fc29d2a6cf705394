"""Full analysis time and peak memory at several scales, per engine.

    python -m bench.analysis [--scales 1 3 10] [--engines local spark] [--scenario baseline]
    python -m bench.analysis --service [--database-url URL] [--scales 10] [--engines local spark]
    python -m bench.analysis --service --add-reports 1 [--scales 10] [--scenario graph_heavy]
    python -m bench.analysis --service --stored --database-url URL

For each scale: simulate the data set once, then time ``mrd analyze`` on it in a
fresh process per engine (reading the data set, the whole pipeline, writing the
results). Memory is each process's peak resident size (VmHWM), read just before the
analysing process exits: the analysing process itself (the service's process when it
runs the analysis), and with the Spark engine also the Spark JVM it started and
Spark's Python workers, listed apart. With ``--service``: load the data set into
``mrd serve`` (one worker) instead, then per engine start a service on that database
with ``MRD_ENGINE`` set, run one analysis and print the run's stage times, the peak
memory of the background process (which analyses) and of the other processes, and on
PostgreSQL the bytes stored per report. With ``--add-reports P`` (local engine): the
newest P% of the reports are held back; the first run reads everything (started
``MARGIN_S`` after the data set was sent), then they are sent and a second run reads
only what changed; a third run, in a new service process that reads everything,
gives the documents the second run's must equal, compared table by table in the
database. With ``--stored``: the database at ``--database-url`` already holds a world
(``python -m bench.fill``); a service's first run reads everything, a second run, with
nothing new, reads the changes, and a third is asked to read everything. Targets:
issue #4, scale 10 (about a million reports) under 60 s and 4 GB; issue #8, at scale
30 the Spark engine's analysing process peaks lower than the numpy engine's, and its
time grows about linearly from scale 10 to 30.
The co-reporting comparison with the QUT toolkit is bench/coreport.py.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.datasets import count_lines
from app.services.stored_data import MARGIN_S
from app.tools.simulate import SCENARIOS, generate
from bench.service import (
    family,
    full_run,
    peak_mb,
    peaks_by_role,
    role_of,
    scratch_database,
    send,
    send_world,
    service,
)


def measured_child(peaks_file: str, argv: list[str]) -> None:
    """Run ``mrd <argv>`` in this process, then record the peaks of this process and
    of the processes it started (the Spark JVM and its Python workers are still alive
    here: Spark stops at interpreter exit)."""
    from app.cli import main as mrd

    sys.argv = ["mrd", *argv]
    try:
        mrd()
    except SystemExit as stop:
        if stop.code:
            raise
    peaks = {"analysing process": peak_mb(os.getpid())}
    for pid in family(os.getpid())[1:]:
        role = role_of(pid)
        peaks[role] = max(peaks.get(role, 0.0), peak_mb(pid))
    Path(peaks_file).write_text(json.dumps(peaks))


def analyse(folder: Path, engine: str) -> tuple[float, dict[str, float]]:
    """Wall seconds of ``mrd analyze --engine ENGINE`` and the peaks it recorded."""
    peaks_file = folder / f"peaks-{engine}.json"
    command = [sys.executable, "-m", "bench.analysis", "--measured-child", str(peaks_file)]
    command += ["analyze", str(folder), "--out", str(folder / f"{engine}.json")]
    command += ["--engine", engine]
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - began
    peaks: dict[str, float] = json.loads(peaks_file.read_text())
    return seconds, peaks


def simulate(folder: Path, scenario: str, scale: float) -> None:
    command = [sys.executable, "-m", "app", "simulate", "--scenario", scenario, "--seed", "1"]
    command += ["--scale", str(scale), "--out", str(folder)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--measured-child":
        measured_child(sys.argv[2], sys.argv[3:])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 3.0, 10.0])
    parser.add_argument("--engines", nargs="+", choices=["local", "spark"], default=["local"])
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--service", action="store_true")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--add-reports", type=float, default=None, metavar="PERCENT")
    parser.add_argument("--stored", action="store_true")
    args = parser.parse_args()
    if args.service and args.stored:
        stored_runs(args.database_url, args.port)
        return
    if args.service and args.add_reports is not None:
        for scale in args.scales:
            incremental(args.scenario, scale, args.database_url, args.port, args.add_reports)
        return
    if args.service:
        for scale in args.scales:
            in_service(args.scenario, scale, args.database_url, args.port, args.engines)
        return
    for scale in args.scales:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            simulate(folder, args.scenario, scale)
            reports = count_lines(folder, "reports")
            for engine in args.engines:
                seconds, peaks = analyse(folder, engine)
                memory = ", ".join(f"{role} {mb:,.0f} MB" for role, mb in peaks.items())
                print(
                    f"scale {scale:>5}: {reports:>10,} reports  {engine:>5} engine "
                    f"{seconds:6.1f} s  peak: {memory}",
                    flush=True,
                )


def in_service(
    scenario: str, scale: float, database_url: str | None, port: int, engines: list[str]
) -> None:
    """Load the data set into a service, then for each engine start a service on that
    database with ``MRD_ENGINE`` set and time one run."""
    world = generate(SCENARIOS[scenario], seed=1, scale=scale)
    with scratch_database(database_url) as url:
        with service(url, port) as client:
            began = time.perf_counter()
            send_world(client, world)
            loaded = time.perf_counter() - began
        del world
        print(f"scale {scale:>5}: data set sent in {loaded:.0f} s", flush=True)
        for engine in engines:
            with service(url, port, settings={"MRD_ENGINE": engine}) as client:
                run = full_run(client)
                peaks = peaks_by_role(client.server_pid)  # type: ignore[attr-defined]
            stats = run["stats"]
            seconds = ", ".join(f"{k} {v:.1f} s" for k, v in stats["seconds"].items())
            memory = ", ".join(f"{role} {mb:,.0f} MB" for role, mb in sorted(peaks.items()))
            print(
                f"  {engine:>5} engine: {stats['reports']:,} reports, {stats['waves']} waves "
                f"({stats['orchestrated_waves']} orchestrated), {stats['groups']} groups; "
                f"run: {seconds}; peak: {memory}",
                flush=True,
            )
        if url.startswith("postgresql"):
            print(f"  {stored_per_report(url)}", flush=True)


def stored_runs(database_url: str, port: int) -> None:
    """Three runs of a service on a database that holds a world: the process's first
    (everything read), one with nothing new (the changes), one asked to read
    everything; each with its times and the background process's peak memory."""
    if not database_url:
        raise SystemExit("--stored needs --database-url of a database holding a world")
    with service(database_url, port) as client:
        for name, read_everything in (("first", False), ("nothing new", False), ("asked", True)):
            run = full_run(client, read_everything)
            print(f"  {name} run: {_describe(run)}", flush=True)
        peaks = peaks_by_role(client.server_pid)  # type: ignore[attr-defined]
    print("  peak: " + ", ".join(f"{role} {mb:,.0f} MB" for role, mb in sorted(peaks.items())))


def _describe(run: dict[str, Any]) -> str:
    stats = run["stats"]
    seconds = ", ".join(f"{k} {v:.1f} s" for k, v in stats["seconds"].items())
    load = stats["load"]
    read = sum(load.get("rows_read", {}).values())
    return f"{load['mode']} read ({read:,} rows: {load.get('reason')}); {seconds}"


def incremental(
    scenario: str, scale: float, database_url: str | None, port: int, percent: float
) -> None:
    """A full run, then ``percent`` % new reports and a run that reads only those, then
    a run in a new process that reads everything: times, and the documents compared."""
    world = generate(SCENARIOS[scenario], seed=1, scale=scale)
    newest = sorted(world.reports, key=lambda r: (r["created_at"], r["event_id"]))
    held = newest[len(newest) - int(len(newest) * percent / 100) :]
    with scratch_database(database_url) as url:
        with service(url, port) as client:
            began = time.perf_counter()
            send_world(client, world, skip_reports={r["event_id"] for r in held})
            print(f"scale {scale:>5}: data set sent in {time.perf_counter() - began:.0f} s")
            del world, newest
            # The rows of a running service are older than the margin a run reads again
            # (as if sent before the last run): wait it out once, so the second run
            # reads what a service in use would.
            time.sleep(MARGIN_S)
            first = full_run(client)
            print(f"  first run: {_describe(first)}", flush=True)
            send(client, "reports", held)
            second = full_run(client)
            print(
                f"  after {len(held):,} new reports ({percent:g}%): {_describe(second)}",
                flush=True,
            )
        with service(url, port) as client:
            third = full_run(client)
            print(f"  a new process's run: {_describe(third)}", flush=True)
        share = second["stats"]["seconds"]["total"] / third["stats"]["seconds"]["total"]
        print(f"  the run after new reports cost {share:.0%} of a full run", flush=True)
        print(f"  documents equal: {same_documents(url, second['run_id'], third['run_id'])}")


def same_documents(database_url: str, one: str, other: str) -> str:
    """Whether two runs stored the same documents: "yes", or the first difference."""
    from sqlalchemy import select

    from app.db.engine import make_engine
    from app.db.models import AnalysisAccount, AnalysisGroup, AnalysisNetwork, AnalysisWave

    engine = make_engine(database_url)
    tables = {
        "waves": (AnalysisWave, AnalysisWave.wave_id),
        "groups": (AnalysisGroup, AnalysisGroup.group_id),
        "accounts": (AnalysisAccount, AnalysisAccount.account_id),
        "network": (AnalysisNetwork, AnalysisNetwork.run_id),
    }
    try:
        with engine.connect() as conn:
            for name, (model, key) in tables.items():
                found = []
                for run_id in (one, other):
                    rows = conn.execute(
                        select(key, model.document).where(model.run_id == run_id)
                    ).all()
                    keyed = {k: d for k, d in rows} if name != "network" else {"": rows[0][1]}
                    found.append(keyed)
                if found[0] != found[1]:
                    differing = [k for k in found[0] if found[0][k] != found[1].get(k)]
                    return f"no: {name} {differing[:3]} ({len(found[0])} and {len(found[1])})"
    finally:
        engine.dispose()
    return "yes"


def stored_per_report(database_url: str) -> str:
    """PostgreSQL's bytes per stored report: every partition of ``reports`` with its
    indices and TOAST, and the event-id guard table."""
    from sqlalchemy import text

    from app.db.engine import make_engine

    engine = make_engine(database_url)
    with engine.connect() as conn:
        size = conn.scalar(
            text(
                "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('reports')"
                " WHERE isleaf"
            )
        ) + conn.scalar(text("SELECT pg_total_relation_size('report_keys')"))
        count = conn.scalar(text("SELECT count(*) FROM reports"))
    engine.dispose()
    return f"stored {size / max(count, 1):,.0f} bytes per report"


if __name__ == "__main__":
    main()
