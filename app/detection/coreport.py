"""Co-reporting network: who reported the same target within a short window of whom.

The edge weight from ``a`` to ``b`` is the number of ``a``'s reports that have a report
by ``b`` on the same target within ``window_s`` seconds either side, the definition of
the co-reply network of the coordination-network-toolkit with reports as replies and
targets as the replied-to message (``a`` to ``a`` included).

As matrices: with reports sorted by (target, time), ``W`` (reports x reports) marks the
reports inside each report's window, a contiguous band found by binary search, and
``P`` (reports x users) says who filed each report. ``W @ P`` counts, per report, each
user's reports in its window; clipped to 1 ("has one"), ``P.T @`` it sums those per
reporting user. Sparse products accumulate rows without sorting, so the cost is about
linear in the (report, neighbour) pairs, taken chunk by chunk to bound memory;
``max_neighbours`` keeps only each report's nearest neighbours inside a huge burst.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from app.detection.data import FloatArray, IntArray

CHUNK_PAIRS = 8_000_000


@dataclass(frozen=True, kw_only=True)
class PartnerParams:
    """Two accounts are partners when they reported the same target within
    ``window_s`` on at least ``occasions`` targets; inside a huge burst only each
    report's ``neighbours`` nearest count."""

    window_s: float = 600.0
    neighbours: int = 64
    occasions: int = 2


def window_keys(target: IntArray, time: FloatArray, window_s: float) -> tuple[float, float]:
    """``origin`` and ``span`` of the sort key ``target * span + (time - origin)``: a
    power of two above the time range, so no window reaches the next target's keys."""
    origin = float(time.min())
    span = float(2.0 ** np.ceil(np.log2(float(time.max()) - origin + 2 * window_s + 2)))
    return origin, span


def report_windows(
    key: FloatArray, window_s: float, max_neighbours: int | None
) -> tuple[IntArray, IntArray]:
    """For reports sorted by ``key``: the rows ``[low, high)`` of each one's window, at
    most ``max_neighbours // 2`` rows either side when a cap is given."""
    low = np.searchsorted(key, key - window_s, side="left")
    high = np.searchsorted(key, key + window_s, side="right")
    if max_neighbours is not None:
        here = np.arange(len(key))
        half = max_neighbours // 2
        low = np.maximum(low, here - half)
        high = np.minimum(high, here + half + 1)
    return low, high


def pair_weights(
    source: IntArray, low: IntArray, high: IntArray, who: IntArray, users: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Edges ``(source, destination, weight)``: for source reports filed by ``source``
    whose windows are the rows ``[low, high)`` of reports filed by ``who``."""
    n = len(source)
    filed_by = csr_matrix(
        (np.ones(len(who), dtype=np.int32), who.astype(np.int32), np.arange(len(who) + 1)),
        shape=(len(who), users),
    )
    lengths = high - low
    ends = np.cumsum(lengths)
    total = csr_matrix((users, users), dtype=np.int64)
    first = 0
    while first < n:
        budget = (ends[first - 1] if first else 0) + CHUNK_PAIRS
        last = max(first + 1, int(np.searchsorted(ends, budget, side="right")))
        count = lengths[first:last]
        starts = np.concatenate([[0], np.cumsum(count)])
        offsets = np.arange(starts[-1]) - np.repeat(starts[:-1], count)
        window = csr_matrix(
            (
                np.ones(starts[-1], dtype=np.int32),
                (np.repeat(low[first:last], count) + offsets).astype(np.int32),
                starts,
            ),
            shape=(last - first, len(who)),
        )
        has_one = window @ filed_by
        has_one.data[:] = 1
        sources = csr_matrix(
            (
                np.ones(last - first, dtype=np.int32),
                source[first:last],
                np.arange(last - first + 1),
            ),
            shape=(last - first, users),
        )
        total = total + sources.T.tocsr() @ has_one
        first = last
    total = total.tocsr()
    total.sum_duplicates()
    start = np.repeat(np.arange(users, dtype=np.int64), np.diff(total.indptr))
    return start, total.indices.astype(np.int64), total.data.astype(np.int64)


def co_report_weights(
    reporter: IntArray,
    target: IntArray,
    time: FloatArray,
    window_s: float = 600.0,
    max_neighbours: int | None = None,
) -> tuple[IntArray, IntArray, IntArray]:
    """Edges ``(source, destination, weight)`` of the directed co-reporting network."""
    if len(reporter) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    order = np.lexsort((time, target))
    who = reporter[order]
    origin, span = window_keys(target, time, window_s)
    low, high = report_windows(
        target[order] * span + (time[order] - origin), window_s, max_neighbours
    )
    return pair_weights(who, low, high, who, int(reporter.max()) + 1)


def partner_counts(
    source: IntArray, partner: IntArray, weight: IntArray, n: int, occasions: int
) -> FloatArray:
    """Per account: how many other accounts it met on at least ``occasions`` targets."""
    repeated = (source != partner) & (weight >= occasions)
    counts: FloatArray = np.bincount(source[repeated], minlength=n).astype(np.float64)
    return counts


def repeat_partners(
    reporter: IntArray, target: IntArray, time: FloatArray, n: int, params: PartnerParams
) -> FloatArray:
    """Per account: how many other accounts reported the same target within ten minutes
    of at least two of its reports (by default). Strangers meet in one viral pile-on; a
    brigade meets again on the next target. Inside a huge burst only each report's 64
    nearest neighbours count, which keeps the cost linear and chance meetings rare."""
    source, partner, weight = co_report_weights(
        reporter, target, time, params.window_s, params.neighbours
    )
    return partner_counts(source, partner, weight, n, params.occasions)
