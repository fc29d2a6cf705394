"""The co-reporting network against a brute-force reading of its definition."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from app.detection.coreport import co_report_weights


def brute_force(
    reporter: list[int], target: list[int], time: list[float], window: float
) -> Counter[tuple[int, int]]:
    weights: Counter[tuple[int, int]] = Counter()
    for i in range(len(reporter)):
        neighbours = {
            reporter[j]
            for j in range(len(reporter))
            if target[j] == target[i] and abs(time[j] - time[i]) <= window
        }
        for other in neighbours:
            weights[(reporter[i], other)] += 1
    return weights


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    reporter = rng.integers(0, 40, size=n)
    target = rng.integers(0, 6, size=n)
    time = np.sort(rng.integers(0, 20_000, size=n)).astype(float)
    src, dst, weight = co_report_weights(reporter, target, time, window_s=600)
    found = Counter({(int(a), int(b)): int(w) for a, b, w in zip(src, dst, weight, strict=True)})
    assert found == brute_force(reporter.tolist(), target.tolist(), time.tolist(), 600)


def test_window_edges_count_and_repeats_count_once() -> None:
    reporter = np.array([0, 1, 1, 2])
    target = np.array([7, 7, 7, 7])
    time = np.array([0.0, 600.0, 601.0, 5000.0])
    src, dst, weight = co_report_weights(reporter, target, time, window_s=600)
    edges = {(int(a), int(b)): int(w) for a, b, w in zip(src, dst, weight, strict=True)}
    # Account 0's one report has account 1 exactly 600 s away (inclusive), counted once
    # although 1 reported twice; account 2 is alone.
    assert edges == {(0, 0): 1, (0, 1): 1, (1, 0): 1, (1, 1): 2, (2, 2): 1}
