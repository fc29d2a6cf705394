"""Time and peak memory of ``mrd simulate`` at several scales.

    python bench/simulate.py [--scales 1 10] [--scenario baseline]

Each run is a fresh process (so peak memory is its own), writing to a temporary
folder. Targets (issue #3): scale 1 under 30 s; scale 10 under 5 minutes and 4 GB.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.datasets import count_lines


def run(scenario: str, scale: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "app",
                "simulate",
                "--scenario",
                scenario,
                "--seed",
                "1",
                "--scale",
                str(scale),
                "--out",
                folder,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        elapsed = time.perf_counter() - began
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        reports = count_lines(Path(folder), "reports")
        edges = count_lines(Path(folder), "edges")
    counts = f"{reports:>10,} reports {edges:>10,} edges"
    print(f"scale {scale:>5}: {counts}  {elapsed:7.1f} s  peak {peak_mb:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--scenario", default="baseline")
    args = parser.parse_args()
    print(f"mrd simulate --scenario {args.scenario} --seed 1")
    for scale in args.scales:
        run(args.scenario, scale)


if __name__ == "__main__":
    main()
