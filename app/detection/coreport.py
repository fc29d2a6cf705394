"""Co-reporting network: who reported the same target within a short window of whom.

The edge weight from ``a`` to ``b`` is the number of ``a``'s reports that have a report
by ``b`` on the same target within ``window_s`` seconds either side, the definition of
the co-reply network of the coordination-network-toolkit with reports as replies and
targets as the replied-to message (``a`` to ``a`` included). It is computed with one
sort and binary searches, then the (report, neighbour) pairs chunk by chunk, so memory
stays bounded; ``max_neighbours`` keeps only each report's nearest neighbours inside a
huge burst, which bounds the cost at about linear in reports.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix

from app.detection.data import FloatArray, IntArray

CHUNK_PAIRS = 4_000_000


def co_report_weights(
    reporter: IntArray,
    target: IntArray,
    time: FloatArray,
    window_s: float = 600.0,
    max_neighbours: int | None = None,
) -> tuple[IntArray, IntArray, IntArray]:
    """Edges ``(source, destination, weight)`` of the directed co-reporting network."""
    n = len(reporter)
    if n == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    order = np.lexsort((time, target))
    who, when, what = reporter[order], time[order], target[order]
    origin = when.min()
    span = 2.0 ** np.ceil(np.log2(when.max() - origin + 2 * window_s + 2))
    key = what * span + (when - origin)
    low = np.searchsorted(key, key - window_s, side="left")
    high = np.searchsorted(key, key + window_s, side="right")
    if max_neighbours is not None:
        here = np.arange(n)
        half = max_neighbours // 2
        low = np.maximum(low, here - half)
        high = np.minimum(high, here + half + 1)
    users = int(reporter.max()) + 1
    # Most reports have no neighbour but themselves: they only add to (user, user).
    alone = high - low == 1
    sources: list[IntArray] = [who[alone]]
    neighbours: list[IntArray] = [who[alone]]
    busy = np.flatnonzero(~alone)
    low, high = low[busy], high[busy]
    lengths = high - low
    # A user counts once per report even with several reports in its window; that can
    # only happen around a user's repeated reports of one target, so only windows
    # holding such a report need de-duplicating.
    by_user = np.lexsort((when, who, what))
    repeat = (what[by_user][1:] == what[by_user][:-1]) & (who[by_user][1:] == who[by_user][:-1])
    repeat &= np.diff(when[by_user]) <= 2 * window_s
    twin = np.zeros(n, dtype=bool)
    twin[by_user[1:][repeat]] = True
    twin[by_user[:-1][repeat]] = True
    twins_before = np.concatenate([[0], np.cumsum(twin)])
    needs_dedupe = twins_before[high] - twins_before[low] > 0
    ends = np.cumsum(lengths)
    first, m = 0, len(busy)
    while first < m:
        budget = ends[first - 1] + CHUNK_PAIRS if first else CHUNK_PAIRS
        last = max(first + 1, int(np.searchsorted(ends, budget, side="right")))
        rows = np.arange(first, min(last, m))
        count = lengths[rows]
        base = np.repeat(low[rows], count)
        offsets = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        source = np.repeat(busy[rows], count)
        neighbour = who[base + offsets]
        careful = np.repeat(needs_dedupe[rows], count)
        plain = ~careful
        sources.append(who[source[plain]])
        neighbours.append(neighbour[plain])
        if careful.any():
            distinct = np.unique(source[careful] * users + neighbour[careful])
            sources.append(who[distinct // users])
            neighbours.append(distinct % users)
        first = int(rows[-1]) + 1
    # Counting incidences per (source, neighbour) pair: a sparse matrix sums them.
    row = np.concatenate(sources)
    counted = coo_matrix(
        (np.ones(len(row), dtype=np.int64), (row, np.concatenate(neighbours))), shape=(users, users)
    ).tocsr()
    counted.sum_duplicates()
    source_of = np.repeat(np.arange(users), np.diff(counted.indptr))
    return source_of, counted.indices.astype(np.int64), counted.data.astype(np.int64)
