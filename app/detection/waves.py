"""Stage 1: find reporting waves, bursts against each target's own baseline.

A target's baseline is its median number of reports per day over the observed period
(popular accounts are reported every day; most accounts almost never). For windows
of several lengths (15 minutes to a day) starting at each report, the number of
reports of the same target in the window is tested against a Poisson count at the
baseline rate; a window holding improbably many reports is part of a burst. The
union of such windows, with nearby bursts of one target merged, makes the waves.
Short windows catch fast waves; day-long ones catch waves spread over a day or two.
Everything is a sort and binary searches: cost grows as n log n in reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import poisson

from app.detection.data import BoolArray, FloatArray, IntArray, Reports

DAY = 86_400.0


@dataclass(frozen=True)
class WaveParams:
    """Burst test settings; defaults are documented in docs/detection.md."""

    windows_s: tuple[float, ...] = (900.0, 3_600.0, 6 * 3_600.0, DAY)
    significance: float = 1e-6
    min_reports: int = 4
    floor_per_day: float = 0.5
    merge_gap_s: float = 3 * 3_600.0
    trim_factor: float = 10.0
    trim_floor_s: float = 900.0
    active_for_s: float = 6 * 3_600.0


@dataclass(frozen=True)
class Waves:
    """Waves, and which wave each report belongs to (-1: none)."""

    target: IntArray
    start: FloatArray
    end: FloatArray
    report_wave: IntArray

    def __len__(self) -> int:
        return len(self.target)

    def active(self, now: float, active_for_s: float) -> BoolArray:
        return np.asarray(now - self.end < active_for_s)


def daily_baseline(target: IntArray, time: FloatArray, accounts: int, days: float) -> FloatArray:
    """Median reports per day of every account over ``days`` days (zero days count)."""
    baseline = np.zeros(accounts)
    if len(target) == 0:
        return baseline
    day = np.floor((time - time.min()) / DAY).astype(np.int64)
    pairs, counts = np.unique(target * (int(day.max()) + 1) + day, return_counts=True)
    owner = pairs // (int(day.max()) + 1)
    active_days = np.bincount(owner, minlength=accounts)
    # The median is zero unless more than half the days saw reports: few accounts.
    busy = np.flatnonzero(active_days * 2 > days)
    order = np.argsort(owner, kind="stable")
    starts = np.searchsorted(owner[order], busy)
    for account, begin in zip(busy.tolist(), starts.tolist(), strict=True):
        daily = counts[order[begin : begin + active_days[account]]]
        padded = np.concatenate([daily, np.zeros(max(0, int(days) - len(daily)))])
        baseline[account] = float(np.median(padded))
    return baseline


def _trim(
    time: FloatArray, first: IntArray, last: IntArray, factor: float, floor_s: float
) -> tuple[IntArray, IntArray]:
    """Drop a wave's leading and trailing reports that are spaced like the baseline.

    A long window that holds a burst also holds ordinary reports hours before or after
    it; those are cut while their gap to the next report exceeds ``factor`` times the
    wave's median gap (and ``floor_s``).
    """
    first, last = first.copy(), last.copy()
    for w in range(len(first)):
        gaps = np.diff(time[first[w] : last[w] + 1])
        if len(gaps) < 2:
            continue
        limit = max(floor_s, factor * float(np.median(gaps)))
        inside = np.flatnonzero(gaps <= limit)
        if len(inside) == 0:
            continue
        first[w] += int(inside[0])
        last[w] = first[w] - int(inside[0]) + int(inside[-1]) + 1
    return first, last


def find_waves(
    reports: Reports, accounts: int, now: float, params: WaveParams | None = None
) -> Waves:
    """Bursts of reports per target; see the module docstring."""
    params = params or WaveParams()
    n = len(reports)
    if n == 0:
        empty = np.empty(0)
        return Waves(empty.astype(np.int64), empty, empty, np.empty(0, dtype=np.int64))
    order = np.lexsort((reports.time, reports.target))
    target = reports.target[order]
    time = reports.time[order]
    origin = time.min()
    days = max(1.0, (max(now, time.max()) - origin) / DAY)
    baseline = daily_baseline(target, time, accounts, days)
    rate = np.maximum(baseline, params.floor_per_day)[target] / DAY

    span = 2.0 ** np.ceil(np.log2(max(now, time.max()) - origin + max(params.windows_s) + 2))
    key = target * span + (time - origin)
    cover = np.zeros(n + 1, dtype=np.int64)
    for window in params.windows_s:
        end = np.searchsorted(key, key + window, side="left")
        count = end - np.arange(n)
        improbable = poisson.sf(count - 1, rate * window) < params.significance
        burst = improbable & (count >= params.min_reports)
        np.add.at(cover, np.flatnonzero(burst), 1)
        np.add.at(cover, end[burst], -1)
    in_burst = np.cumsum(cover[:n]) > 0

    marked = np.flatnonzero(in_burst)
    report_wave = np.full(n, -1, dtype=np.int64)
    if len(marked) == 0:
        empty = np.empty(0)
        return Waves(empty.astype(np.int64), empty, empty, report_wave)
    new_wave = np.ones(len(marked), dtype=bool)
    same_target = target[marked[1:]] == target[marked[:-1]]
    close = time[marked[1:]] - time[marked[:-1]] <= params.merge_gap_s
    new_wave[1:] = ~(same_target & close)
    # A wave runs from its first to its last marked report; reports between them
    # (of the same target, as the order is by target) belong to it too.
    first = marked[new_wave]
    last = np.append(marked[np.flatnonzero(new_wave)[1:] - 1], marked[-1])
    first, last = _trim(time, first, last, params.trim_factor, params.trim_floor_s)
    big_enough = last - first + 1 >= params.min_reports
    first, last = first[big_enough], last[big_enough]
    lengths = last - first + 1
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    positions = np.repeat(first, lengths) + offsets
    report_wave[order[positions]] = np.repeat(np.arange(len(first)), lengths)
    return Waves(
        target=target[first],
        start=time[first],
        end=time[last],
        report_wave=report_wave,
    )
