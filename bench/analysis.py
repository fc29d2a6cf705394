"""Full offline analysis time and peak memory at several scales.

    python bench/analysis.py [--scales 1 3 10] [--scenario baseline]

For each scale: simulate the data set, then time ``mrd analyze`` in a fresh process
(reading the NDJSON files, the whole pipeline, writing the results) and take that
process's peak memory. Targets (issue #4): scale 10 (about a million reports) under
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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
