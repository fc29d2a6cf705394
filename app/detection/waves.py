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
from app.detection.graph import ranges

DAY = 86_400.0


@dataclass(frozen=True)
class WaveParams:
    """Burst test settings; defaults are documented in docs/detection.md."""

    windows_s: tuple[float, ...] = (900.0, 3_600.0, 6 * 3_600.0, DAY)
    significance: float = 1e-6
    min_reports: int = 4
    floor_per_day: float = 0.5
    merge_gap_s: float = 6 * 3_600.0
    trim_factor: float = 10.0
    trim_floor_s: float = 900.0
    active_for_s: float = 6 * 3_600.0


@dataclass(frozen=True)
class Waves:
    """Waves, and which wave each report belongs to (-1: none). ``content`` is the
    content item a wave is about (-1: none dominates)."""

    target: IntArray
    start: FloatArray
    end: FloatArray
    report_wave: IntArray
    content: IntArray

    def __len__(self) -> int:
        return len(self.target)

    def active(self, now: float, active_for_s: float) -> BoolArray:
        return np.asarray(now - self.end < active_for_s)


def daily_baseline(
    target: IntArray, time: FloatArray, accounts: int, days: float, origin: float | None = None
) -> FloatArray:
    """Median reports per day of every account (or other unit) over ``days`` days from
    ``origin`` (default: the first report); days without reports count."""
    baseline = np.zeros(accounts)
    if len(target) == 0:
        return baseline
    day = np.floor((time - (time.min() if origin is None else origin)) / DAY).astype(np.int64)
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


def bursts(
    unit: IntArray,
    time: FloatArray,
    units: int,
    origin: float,
    days: float,
    params: WaveParams,
) -> tuple[IntArray, IntArray, IntArray]:
    """Waves of reports keyed by ``unit`` (a target, or a target's content item), each
    against that unit's own baseline: the unit, first and last position of every wave
    and each report's wave, all in the order of ``(unit, time)`` that is returned first."""
    n = len(unit)
    order = np.lexsort((time, unit))
    unit, time = unit[order], time[order]
    baseline = daily_baseline(unit, time, units, days, origin)
    rate = np.maximum(baseline, params.floor_per_day)[unit] / DAY
    span = 2.0 ** np.ceil(np.log2(days * DAY + max(params.windows_s) + 2))
    key = unit * span + (time - origin)
    cover = np.zeros(n + 1, dtype=np.int64)
    for window in params.windows_s:
        end = np.searchsorted(key, key + window, side="left")
        count = end - np.arange(n)
        improbable = poisson.sf(count - 1, rate * window) < params.significance
        burst = improbable & (count >= params.min_reports)
        np.add.at(cover, np.flatnonzero(burst), 1)
        np.add.at(cover, end[burst], -1)
    marked = np.flatnonzero(np.cumsum(cover[:n]) > 0)
    report_wave = np.full(n, -1, dtype=np.int64)
    if len(marked) == 0:
        return order, np.empty(0, dtype=np.int64), report_wave
    new_wave = np.ones(len(marked), dtype=bool)
    same_unit = unit[marked[1:]] == unit[marked[:-1]]
    close = time[marked[1:]] - time[marked[:-1]] <= params.merge_gap_s
    new_wave[1:] = ~(same_unit & close)
    # A wave runs from its first to its last marked report; reports between them
    # (of the same unit, as the order is by unit) belong to it too.
    first = marked[new_wave]
    last = np.append(marked[np.flatnonzero(new_wave)[1:] - 1], marked[-1])
    first, last = _trim(time, first, last, params.trim_factor, params.trim_floor_s)
    big_enough = last - first + 1 >= params.min_reports
    first, last = first[big_enough], last[big_enough]
    lengths = last - first + 1
    report_wave[ranges(first, lengths)] = np.repeat(np.arange(len(first)), lengths)
    return order, first, report_wave


def find_waves(
    reports: Reports, accounts: int, now: float, params: WaveParams | None = None
) -> Waves:
    """Bursts of reports per target, then per content item among the reports left
    over: a burst on one post of an account that is reported every day can be lost in
    the account's baseline but stands out of the post's own. See the module docstring."""
    params = params or WaveParams()
    report_wave = np.full(len(reports), -1, dtype=np.int64)
    if len(reports) == 0:
        return _no_waves(report_wave)
    origin = float(reports.time.min())
    days = max(1.0, (max(now, float(reports.time.max())) - origin) / DAY)
    order, first, in_wave = bursts(reports.target, reports.time, accounts, origin, days, params)
    report_wave[order] = in_wave
    found = len(first)

    left = np.flatnonzero((report_wave < 0) & (reports.content >= 0))
    if len(left):
        units, unit = leftover_units(reports.target[left], reports.content[left])
        order, first, in_wave = bursts(unit, reports.time[left], units, origin, days, params)
        report_wave[left[order]] = np.where(in_wave >= 0, in_wave + found, -1)
        found += len(first)
    return assemble_waves(reports, report_wave, found)


def leftover_units(target: IntArray, content: IntArray) -> tuple[int, IntArray]:
    """The second pass's units: each (target, content item) pair, numbered in order."""
    width = int(content.max()) + 1
    pairs, unit = np.unique(target * width + content, return_inverse=True)
    return len(pairs), unit.ravel()


def assemble_waves(reports: Reports, report_wave: IntArray, n_waves: int) -> Waves:
    """Waves from the wave of every report: target, first and last report time."""
    member = report_wave >= 0
    target = np.zeros(n_waves, dtype=np.int64)
    target[report_wave[member]] = reports.target[member]
    start = np.full(n_waves, np.inf)
    np.minimum.at(start, report_wave[member], reports.time[member])
    end = np.full(n_waves, -np.inf)
    np.maximum.at(end, report_wave[member], reports.time[member])
    return Waves(target, start, end, report_wave, _wave_content(reports, report_wave, n_waves))


def _no_waves(report_wave: IntArray) -> Waves:
    empty = np.empty(0)
    none = empty.astype(np.int64)
    return Waves(none, empty, empty, report_wave, none)


def _wave_content(reports: Reports, report_wave: IntArray, n_waves: int) -> IntArray:
    """The content item more than half of each wave's reports name, or -1."""
    content = np.full(n_waves, -1, dtype=np.int64)
    member = np.flatnonzero((report_wave >= 0) & (reports.content >= 0))
    if len(member) == 0:
        return content
    width = int(reports.content.max()) + 1
    pairs, counts = np.unique(
        report_wave[member] * width + reports.content[member], return_counts=True
    )
    size = np.bincount(report_wave[report_wave >= 0], minlength=n_waves)
    wave = pairs // width
    dominant = counts * 2 > size[wave]
    content[wave[dominant]] = pairs[dominant] % width
    return content


def first_reports(reports: Reports, waves: Waves) -> IntArray:
    """Each wave's earliest report (of equal times, the first in ``reports``)."""
    member = np.flatnonzero(waves.report_wave >= 0)
    order = member[np.lexsort((reports.time[member], waves.report_wave[member]))]
    first: IntArray = order[np.searchsorted(waves.report_wave[order], np.arange(len(waves)))]
    return first
