"""One target hit by a single enormous wave: 100,000 reports from 80,000 accounts in
six hours (issue #7: analysed in under 10 s, no quadratic blow-up). Prints the time
of every pipeline stage and of the whole analysis, for 25k, 50k and 100k reports.

    python -m bench.huge_wave
"""

from __future__ import annotations

import time

import numpy as np

from app.detection.data import build_data
from app.detection.pipeline import analyze
from app.detection.shapes import shape

T0 = 1_500_000_000


def one_run(n: int) -> None:
    rng = np.random.default_rng(n)
    times = T0 + np.sort(rng.uniform(0, 6 * 3_600, n))
    reporters = rng.integers(0, int(n * 0.8), n)
    reports = [
        {
            "event_id": f"e{i}",
            "reporter_id": f"r{who}",
            "target_id": "victim",
            "reason": "terrorism",
            "created_at": at,
            "text": "this account supports terrorism, report it",
        }
        for i, (who, at) in enumerate(zip(reporters.tolist(), times.tolist(), strict=True))
    ]
    began = time.perf_counter()
    data = build_data(reports=reports)
    analysis = analyze(data)
    document = shape(analysis)
    took = time.perf_counter() - began
    stages = ", ".join(f"{k} {v:.2f}" for k, v in analysis.timings.items())
    waves = [w.report_count for w in document.waves]
    print(f"{n:>7,} reports: {took:5.2f} s in all (build, analyse, shape); waves {waves}; {stages}")


def main() -> None:
    for n in (25_000, 50_000, 100_000):
        one_run(n)


if __name__ == "__main__":
    main()
