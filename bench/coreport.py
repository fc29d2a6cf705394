"""The co-reporting network beside the QUT coordination-network-toolkit's co-reply network.

    pip install coordination-network-toolkit
    python bench/coreport.py [--scale 1] [--window 600] [--check-reports 3000] [--repeat 3]

Reports are fed to the toolkit as replies (user = reporter, reply_id = target). First
both compute the network of a small sample and the edge weights are compared (they
must be identical); then both compute the whole data set, timed in the same run.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np
from coordination_network_toolkit.compute_networks import compute_co_reply_network
from coordination_network_toolkit.preprocess import preprocess_data

from app.detection.coreport import co_report_weights
from app.detection.data import build_data
from app.tools.simulate import SCENARIOS, generate

Edges = dict[tuple[int, int], int]


def ours(
    reporter: np.ndarray, target: np.ndarray, times: np.ndarray, window: float
) -> tuple[Edges, float]:
    began = time.perf_counter()
    src, dst, weight = co_report_weights(reporter, target, times, window)
    took = time.perf_counter() - began
    return dict(
        zip(zip(src.tolist(), dst.tolist(), strict=True), weight.tolist(), strict=True)
    ), took


def qut(
    reporter: np.ndarray, target: np.ndarray, times: np.ndarray, window: float, folder: Path
) -> tuple[Edges, float, float]:
    """The toolkit's network, its loading time and its computing time."""
    db = str(folder / "qut.db")
    Path(db).unlink(missing_ok=True)
    columns = zip(reporter.tolist(), target.tolist(), times.tolist(), strict=True)
    rows = (
        (str(i), str(u), str(u), "", str(t), "", float(s), [])
        for i, (u, t, s) in enumerate(columns)
    )
    began = time.perf_counter()
    preprocess_data(db, rows)
    loaded = time.perf_counter() - began
    compute_co_reply_network(db, window, 1, n_threads=2)
    computed = time.perf_counter() - began - loaded
    with sqlite3.connect(db) as conn:
        found = conn.execute("select user_1, user_2, weight from co_reply_network").fetchall()
    return {(int(a), int(b)): int(w) for a, b, w in found}, loaded, computed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--window", type=float, default=600.0)
    parser.add_argument("--check-reports", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    world = generate(SCENARIOS["baseline"], seed=1, scale=args.scale)
    data = build_data(reports=world.reports)
    r, t, s = data.reports.reporter, data.reports.target, data.reports.time
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # A sample dense in co-reports: the reports of the busiest targets.
        busiest = np.argsort(-np.bincount(t))[:40]
        sample = np.flatnonzero(np.isin(t, busiest))[: args.check_reports]
        mine, _ = ours(r[sample], t[sample], s[sample], args.window)
        theirs, _, _ = qut(r[sample], t[sample], s[sample], args.window, folder)
        counts = f"{len(mine):,} edges here, {len(theirs):,} in the toolkit"
        print(f"check on {len(sample):,} reports: {counts}; identical weights: {mine == theirs}")
        # Each side's median of --repeat runs: single runs of either vary by 2x here.
        timed = [ours(r, t, s, args.window) for _ in range(args.repeat)]
        edges, here = timed[0][0], float(np.median([took for _, took in timed]))
        theirs_timed = [qut(r, t, s, args.window, folder) for _ in range(args.repeat)]
        reference = theirs_timed[0][0]
        loading = float(np.median([run[1] for run in theirs_timed]))
        there = float(np.median([run[2] for run in theirs_timed]))
    print(f"{len(r):,} reports, window {args.window:.0f} s: {len(edges):,} edges")
    print(f"  (medians of {args.repeat} runs each)")
    print(f"  mrd co-reporting:              {here:8.3f} s")
    print(f"  coordination-network-toolkit:  {there:8.3f} s (co_reply, 2 processes)")
    print(f"    and its loading of the reports: {loading:.3f} s")
    print(f"  speed-up: {there / here:.0f}x; identical on the whole set: {edges == reference}")


if __name__ == "__main__":
    main()
