"""Full analysis time and peak memory at several scales.

    python -m bench.analysis [--scales 1 3 10] [--scenario baseline]
    python -m bench.analysis --service [--database-url URL] [--scales 10]

For each scale: simulate the data set, then time ``mrd analyze`` in a fresh process
(reading the NDJSON files, the whole pipeline, writing the results) and take that
process's peak memory. With ``--service``: load the data set into ``mrd serve`` (one
worker) instead, run one analysis and print the run's stage times and the server's
peak memory. Targets (issue #4): scale 10 (about a million reports) under
60 s and 4 GB. The co-reporting comparison with the QUT toolkit is bench/coreport.py.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.datasets import count_lines
from app.simulate import SCENARIOS, generate
from bench.service import full_run, peak_memory_mb, scratch_database, send_world, service


def peak_of_child(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident megabytes of one child process."""
    began = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: quiet, then become the command
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        os.execv(command[0], command)
    _, _, usage = os.wait4(pid, 0)
    return time.perf_counter() - began, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 3.0, 10.0])
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--service", action="store_true")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--port", type=int, default=8767)
    args = parser.parse_args()
    if args.service:
        for scale in args.scales:
            in_service(args.scenario, scale, args.database_url, args.port)
        return
    for scale in args.scales:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "app",
                    "simulate",
                    "--scenario",
                    args.scenario,
                    "--seed",
                    "1",
                    "--scale",
                    str(scale),
                    "--out",
                    str(folder),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            reports = count_lines(folder, "reports")
            seconds, peak = peak_of_child(
                [
                    sys.executable,
                    "-m",
                    "app",
                    "analyze",
                    str(folder),
                    "--out",
                    str(folder / "out.json"),
                ]
            )
        figures = f"analyze {seconds:6.1f} s  peak {peak:,.0f} MB"
        print(f"scale {scale:>5}: {reports:>10,} reports  {figures}", flush=True)


def in_service(scenario: str, scale: float, database_url: str | None, port: int) -> None:
    world = generate(SCENARIOS[scenario], seed=1, scale=scale)
    with scratch_database(database_url) as url, service(url, port) as client:
        began = time.perf_counter()
        send_world(client, world)
        loaded = time.perf_counter() - began
        del world
        run = full_run(client)
        seconds = ", ".join(f"{k} {v:.1f} s" for k, v in run["stats"]["seconds"].items())
        peak = peak_memory_mb(client.server_pid)  # type: ignore[attr-defined]
    print(
        f"scale {scale:>5}: {run['stats']['reports']:,} reports sent in {loaded:.0f} s; "
        f"run: {seconds}; server peak {peak:,.0f} MB",
        flush=True,
    )


if __name__ == "__main__":
    main()
